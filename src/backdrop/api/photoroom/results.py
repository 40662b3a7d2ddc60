"""Photoroom's answers: the image bytes with their type, the uncertainty score, the DPI."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.imaging.dpi import with_dpi
from backdrop.imaging.output import CONTENT_TYPES, encode
from backdrop.imaging.uncertainty import uncertainty_score
from backdrop.kinds import OutputFormat


@dataclass(frozen=True)
class Answer:
    content: bytes
    media_type: str
    headers: dict[str, str]

    def json(self) -> dict[str, str]:
        """/v1/segment's JSON answer (`Accept: application/json`)."""
        return {"base64img": base64.b64encode(self.content).decode("ascii")}


def score_header(mask: bytes) -> dict[str, str]:
    """`x-uncertainty-score` for the result's matte (imaging/uncertainty.py says how)."""
    alpha = np.asarray(Image.open(io.BytesIO(mask)).convert("L"))
    return {"x-uncertainty-score": f"{uncertainty_score(alpha):.4f}"}


def removal_answer(output: bytes, mask: bytes, fmt: OutputFormat, dpi: int | None = None) -> Answer:
    """A cut-out's answer: its bytes as the order rendered them, the DPI written in."""
    content = with_dpi(output, dpi) if dpi is not None else output
    return Answer(content, CONTENT_TYPES[fmt], score_header(mask))


def generated_answer(output: bytes, fmt: OutputFormat, seed: int, dpi: int | None = None) -> Answer:
    """A generated background's answer: the order's JPEG in the asked format."""
    content = output
    if fmt != "jpg":
        content = encode(Image.open(io.BytesIO(output)), fmt)
    if dpi is not None:
        content = with_dpi(content, dpi)
    return Answer(content, CONTENT_TYPES[fmt], {"pr-ai-background-seed": str(seed)})
