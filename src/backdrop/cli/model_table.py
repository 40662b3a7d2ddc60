"""`backdrop models list` as a table that reads at any terminal width, 80 columns included.

A model's int8 graph (engines/choice.py runs it in the model's place on CPUs without AMX) is
not a row of its own: its model's row says whether it is installed too ("yes +int8").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.table import Table

from backdrop.engines.derive import DerivedWeights
from backdrop.engines.model_spec import LocalWeights, SegmentationModel

# From this width on, every column fits with its text readable.
WIDE = 120


@dataclass(frozen=True)
class ModelRow:
    model_id: str
    installed: bool
    default: bool
    license: str
    source: str
    description: str
    size: int | None = None  # bytes to download; None where unknown or made here
    int8_installed: bool | None = None  # None: the model has no int8 graph of its own

    @property
    def installed_words(self) -> str:
        words = "yes" if self.installed else "no"
        return f"{words} +int8" if self.int8_installed else words


def model_rows(
    models: Iterable[SegmentationModel], models_dir: Path, default: str
) -> list[ModelRow]:
    from backdrop.engines.model_install import is_installed

    catalog = {model.model_id: model for model in models}
    int8_graphs = {model.int8_graph for model in catalog.values() if model.int8_graph}
    rows = []
    for model in catalog.values():
        if model.model_id in int8_graphs and model.model_id != default:
            continue
        int8 = catalog.get(model.int8_graph) if model.int8_graph else None
        rows.append(
            ModelRow(
                model.model_id,
                is_installed(model, models_dir),
                model.model_id == default,
                model.license,
                model.source,
                model.description,
                size=download_size(model),
                int8_installed=None if int8 is None else is_installed(int8, models_dir),
            )
        )
    return rows


def download_size(model: SegmentationModel) -> int | None:
    """The bytes `models fetch` downloads for `model`: its file's, or the file it is made from."""
    weights = model.weights
    if isinstance(weights, LocalWeights):
        return None
    origin = weights.origin if isinstance(weights, DerivedWeights) else weights
    return origin.size


def megabytes(size: int | None) -> str:
    """ "224 MB", "4.6 MB", or "" for an unknown size."""
    if size is None:
        return ""
    mb = size / 1e6
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"


def models_table(rows: list[ModelRow], width: int) -> Table:
    """All columns from WIDE columns on; below, the id (default starred), installed and the
    description: six columns of long text wrapped every cell to a word per line at 80."""
    if width >= WIDE:
        return _wide_table(rows)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption_justify="left")
    # Ids are what people copy into --model: never cut or wrapped, whatever the width.
    table.add_column("id", no_wrap=True)
    table.add_column("installed", no_wrap=True)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("description", ratio=1)
    for row in rows:
        star = " *" if row.default else ""
        table.add_row(
            row.model_id + star, row.installed_words, megabytes(row.size), row.description
        )
    table.caption = (
        "* the default; +int8: its int8 graph too (run on CPUs without AMX).\n"
        f"Licences and sources: COLUMNS={WIDE} backdrop models list"
    )
    return table


def _wide_table(rows: list[ModelRow]) -> Table:
    table = Table("id", "installed", "default", "size", "license", "source", "description")
    table.columns[0].no_wrap = True
    table.columns[3].no_wrap = True
    table.columns[3].justify = "right"
    # URLs whole, folded over lines: on a machine without access people copy them elsewhere.
    table.columns[5].overflow = "fold"
    for row in rows:
        table.add_row(
            row.model_id,
            row.installed_words,
            "*" if row.default else "",
            megabytes(row.size),
            row.license,
            row.source,
            row.description,
        )
    table.caption = "+int8: the model's int8 graph is installed too (run on CPUs without AMX)"
    return table
