"""`backdrop models list`'s rows: one per model with its size, int8 graphs folded in."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from backdrop.cli.model_table import megabytes, model_rows, models_table
from backdrop.engines.builtin_models import BUILTIN_MODELS


def test_rows_fold_int8_graphs_into_their_model_and_show_sizes(tmp_path: Path) -> None:
    (tmp_path / "u2netp.onnx").write_bytes(b"\0" * 4_574_861)
    (tmp_path / "u2netp-int8-nncf.onnx").write_bytes(b"derived")
    (tmp_path / "birefnet-lite.onnx").write_bytes(b"\0" * 224_005_088)

    rows = {row.model_id: row for row in model_rows(BUILTIN_MODELS.values(), tmp_path, "u2net")}

    assert "u2netp-int8" not in rows and "birefnet-lite-int8" not in rows
    assert "isnet-general-int8" not in rows  # folded into isnet-general's row too
    assert rows["u2netp"].installed_words == "yes +int8"
    assert rows["birefnet-lite"].installed_words == "yes"
    assert rows["birefnet-general"].installed_words == "no"
    assert rows["isnet-general-multiscale"].int8_installed is None  # it has one graph
    assert megabytes(rows["birefnet-lite"].size) == "224 MB"
    assert megabytes(rows["u2netp"].size) == "4.6 MB"
    assert megabytes(None) == ""
    assert rows["u2net"].default

    console = Console(width=200, record=True)
    console.print(models_table(list(rows.values()), 200))
    text = console.export_text()
    assert "Apache-2.0 (U²-Net" in text and "MIT (BiRefNet" in text
    # URLs folded over lines, never cut short (people copy them to download elsewhere).
    assert "https://github.com/ZhengPeng7/BiRefNet/relea" in text and "…" not in text


def test_the_default_is_listed_even_when_it_is_an_int8_graph(tmp_path: Path) -> None:
    rows = model_rows(BUILTIN_MODELS.values(), tmp_path, "u2netp-int8")
    assert [row.model_id for row in rows if row.default] == ["u2netp-int8"]
