"""A scene recipe: what the studio engine will paint, decided from the prompt before any pixel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from backdrop.imaging.colors import RGB

# Setting families; each has a module under `scenes/`.
SETTINGS: tuple[str, ...] = (
    "studio",
    "tabletop",
    "interior",
    "landscape",
    "water",
    "city",
    "nature",
    "abstract",
)

# Surface materials a floor, a table top or a wall can be made of.
MATERIALS: tuple[str, ...] = (
    "paper",
    "marble",
    "wood",
    "concrete",
    "granite",
    "stone",
    "sand",
    "linen",
    "tiles",
    "moss",
    "snow",
    "grass",
    "plaster",
    "water",
)

TIMES_OF_DAY: tuple[str, ...] = (
    "studio",
    "dawn",
    "morning",
    "noon",
    "golden",
    "sunset",
    "dusk",
    "night",
)

# Extras a scene may add; each one is drawn by a function in `layers.py` or a scene module.
FEATURES: tuple[str, ...] = (
    "clouds",
    "sun",
    "haze",
    "fog",
    "rays",
    "bokeh",
    "fairy_lights",
    "windows",
    "neon",
    "rain",
    "stars",
    "leaves",
    "pumpkins",
    "plant",
    "podium",
    "leaf_shadow",
    "window_light",
    "gold",
    "shapes",
    "glow",
    "spotlight",
    "stones",
    "snowfall",
)


@dataclass(frozen=True)
class Palette:
    """The scene's colours: the dominant one, a second one, and an accent for details."""

    primary: RGB
    secondary: RGB
    accent: RGB


@dataclass(frozen=True)
class Light:
    """The key light of the scene, as a photographer would describe it."""

    time_of_day: str = "studio"
    direction: float = -0.4  # horizontal position of the key light: -1 left .. 1 right
    elevation: float = 0.6  # 0 low at the horizon .. 1 overhead
    hardness: float = 0.3  # 0 soft and diffuse .. 1 hard, crisp shadows
    warmth: float = 0.0  # -1 cool blue .. 1 warm amber
    brightness: float = 0.75  # 0 dark and moody .. 1 bright and airy
    mood: str = "neutral"


@dataclass(frozen=True)
class Recipe:
    """Everything the renderer needs; `reasons` says which words or neighbours decided what."""

    name: str
    setting: str
    scene: str
    material: str
    palette: Palette
    light: Light = field(default_factory=Light)
    depth_of_field: float = 0.4  # 0 everything sharp .. 1 background very blurred
    features: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def with_features(self, *extra: str) -> Recipe:
        """The recipe with `extra` features added (each once, order kept)."""
        merged = tuple(dict.fromkeys((*self.features, *extra)))
        return replace(self, features=merged)

    def without_features(self, *removed: str) -> Recipe:
        return replace(self, features=tuple(f for f in self.features if f not in removed))

    def explained(self, reason: str) -> Recipe:
        return replace(self, reasons=(*self.reasons, reason))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, for `backdrop generate --explain`."""
        data = asdict(self)
        for key in ("primary", "secondary", "accent"):
            data["palette"][key] = "#{:02x}{:02x}{:02x}".format(*data["palette"][key])
        data["features"] = list(self.features)
        data["reasons"] = list(self.reasons)
        return data
