"""`backdrop models list` as a table that reads at any terminal width, 80 columns included."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.table import Table

from backdrop.engines.model_spec import SegmentationModel

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


def model_rows(
    models: Iterable[SegmentationModel], models_dir: Path, default: str
) -> list[ModelRow]:
    from backdrop.engines.model_install import is_installed

    return [
        ModelRow(
            model.model_id,
            is_installed(model, models_dir),
            model.model_id == default,
            model.license,
            model.source,
            model.description,
        )
        for model in models
    ]


def models_table(rows: list[ModelRow], width: int) -> Table:
    """All columns from WIDE columns on; below, the id (default starred), installed and the
    description: six columns of long text wrapped every cell to a word per line at 80."""
    if width >= WIDE:
        return _wide_table(rows)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption_justify="left")
    # Ids are what people copy into --model: never cut or wrapped, whatever the width.
    table.add_column("id", no_wrap=True)
    table.add_column("installed", no_wrap=True)
    table.add_column("description", ratio=1)
    for row in rows:
        star = " *" if row.default else ""
        table.add_row(row.model_id + star, "yes" if row.installed else "no", row.description)
    table.caption = f"* the default. Licences and sources: COLUMNS={WIDE} backdrop models list"
    return table


def _wide_table(rows: list[ModelRow]) -> Table:
    table = Table("id", "installed", "default", "license", "source", "description")
    table.columns[0].no_wrap = True
    for row in rows:
        table.add_row(
            row.model_id,
            "yes" if row.installed else "no",
            "*" if row.default else "",
            row.license,
            row.source,
            row.description,
        )
    return table
