"""Evaluation reports as Rich tables, for the `backdrop eval` command."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.table import Table

from backdrop.evaluation.evaluate import EvalReport


def report_table(report: EvalReport, *, tolerance: int, per_image: bool = False) -> Table:
    """The mean scores (and optionally a row per image) of `report`."""
    table = Table("image", "IoU", "MAE", f"boundary F ({tolerance} px)", "seconds")
    if per_image:
        for result in report.results:
            s = result.scores
            table.add_row(
                result.stem,
                f"{s.iou:.3f}",
                f"{s.mae:.4f}",
                f"{s.boundary_f:.3f}",
                f"{result.seconds:.2f}",
            )
        table.add_section()
    mean = report.mean
    table.add_row(
        f"mean of {len(report.results)}",
        f"{mean.iou:.3f}",
        f"{mean.mae:.4f}",
        f"{mean.boundary_f:.3f}",
        f"{report.mean_seconds:.2f}",
        style="bold",
    )
    return table


def sets_table(reports: Mapping[str, EvalReport], *, tolerance: int) -> Table:
    """Every set's mean scores side by side: a column per set, headed by its name and number
    of images, and a row per figure, so a change that helps one set and hurts another reads
    across one line. (A group of four columns per set did not fit 80 columns for three sets.)"""
    table = Table(box=box.SIMPLE_HEAVY, pad_edge=False)
    table.add_column("mean of", no_wrap=True)
    for name, report in reports.items():
        table.add_column(f"{name} ({len(report.results)})", justify="right", no_wrap=True)
    means = [report.mean for report in reports.values()]
    table.add_row("IoU", *(f"{mean.iou:.3f}" for mean in means))
    table.add_row("MAE", *(f"{mean.mae:.4f}" for mean in means))
    table.add_row(f"boundary F ({tolerance} px)", *(f"{mean.boundary_f:.3f}" for mean in means))
    table.add_row("seconds", *(f"{report.mean_seconds:.2f}" for report in reports.values()))
    return table
