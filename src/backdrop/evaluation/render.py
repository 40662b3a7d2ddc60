"""An evaluation report as a Rich table, for the `backdrop eval` command."""

from __future__ import annotations

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
