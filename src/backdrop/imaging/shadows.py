"""Shadows under a cut-out subject, made from its mask and box.

Types only here: the contract between the routes that parse a shadow request (remove.bg's
add_shadow, Photoroom's shadow.mode, the CLI, the page) and the imaging stage that draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# contact: soft occlusion where the subject meets the ground; drop: a soft offset copy of the
# silhouette; cast: the silhouette projected on a ground plane; floating: an ellipse below;
# reflection: a fading mirror image on a glossy floor.
ShadowMode = Literal["contact", "drop", "cast", "floating", "reflection"]


@dataclass(frozen=True)
class ShadowSpec:
    mode: ShadowMode = "drop"
    opacity: float = 0.5  # 0..1: the darkest the shadow gets
    softness: float = 0.5  # 0 hard .. 1 very soft
    angle: float = 45.0  # degrees the light comes from, clockwise from straight above
    length: float = 0.5  # cast shadow: length as a fraction of the subject's height
