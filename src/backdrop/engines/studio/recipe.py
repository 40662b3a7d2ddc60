"""A scene recipe: what the studio engine will paint, decided from the prompt before any pixel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from backdrop.imaging.colors import RGB


class Setting(StrEnum):
    """Setting families; each has a module under `scenes/`."""

    STUDIO = "studio"
    TABLETOP = "tabletop"
    INTERIOR = "interior"
    LANDSCAPE = "landscape"
    WATER = "water"
    CITY = "city"
    NATURE = "nature"
    ABSTRACT = "abstract"


class SceneKind(StrEnum):
    """The variant of a setting a preset paints (a setting module branches on these)."""

    SWEEP = "sweep"
    GRADIENT = "gradient"
    PODIUM = "podium"
    COLOR_BLOCK = "color_block"
    KITCHEN = "kitchen"
    CAFE = "cafe"
    SPOTLIGHT = "spotlight"
    WINDOW = "window"
    WALL = "wall"
    SHELF = "shelf"
    LIVING_ROOM = "living_room"
    LOBBY = "lobby"
    LOFT = "loft"
    FESTIVE = "festive"
    ROOM = "room"  # a plain room: its elements make it an office, a bedroom, a gallery
    BEACH = "beach"
    UNDERWATER = "underwater"
    LAKE = "lake"
    MOUNTAINS = "mountains"
    DUNES = "dunes"
    FIELD = "field"
    SKY = "sky"
    FOREST = "forest"
    PARK = "park"
    SPA = "spa"
    HALLOWEEN = "halloween"
    SKYLINE = "skyline"
    STREET = "street"
    GEOMETRIC = "geometric"
    GLOW = "glow"


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


class Feature(StrEnum):
    """Effects and lights a scene may add over its setting (drawn by `layers.py` or a scene)."""

    CLOUDS = "clouds"
    SUN = "sun"
    HAZE = "haze"
    FOG = "fog"
    RAYS = "rays"
    BOKEH = "bokeh"
    FAIRY_LIGHTS = "fairy_lights"
    WINDOWS = "windows"
    NEON = "neon"
    RAIN = "rain"
    STARS = "stars"
    LEAVES = "leaves"
    PUMPKINS = "pumpkins"
    PLANT = "plant"
    PODIUM = "podium"
    LEAF_SHADOW = "leaf_shadow"
    WINDOW_LIGHT = "window_light"
    GOLD = "gold"
    SHAPES = "shapes"
    GLOW = "glow"
    SPOTLIGHT = "spotlight"
    STONES = "stones"
    SNOWFALL = "snowfall"
    DECK = "deck"  # a porch, pier or terrace in front, the view beyond


FEATURES: tuple[str, ...] = tuple(Feature)


class Element(StrEnum):
    """Things a prompt may name that are drawn into any setting they fit (`elements/`)."""

    MOUNTAINS = "mountains"
    HILLS = "hills"
    TREES = "trees"
    PINES = "pines"
    PALMS = "palms"
    CACTUS = "cactus"
    FLOWERS = "flowers"
    BUSHES = "bushes"
    POTTED_PLANT = "potted_plant"
    WATER = "water"
    PATH = "path"
    SKYLINE = "skyline"
    HOUSES = "houses"
    LIGHTHOUSE = "lighthouse"
    SAILBOATS = "sailboats"
    BRIDGE = "bridge"
    COLUMNS = "columns"
    ARCHES = "arches"
    SHOP_FRONTS = "shop_fronts"
    STREET_LAMPS = "street_lamps"
    WINDOW = "window"
    BOOKSHELF = "bookshelf"
    BOOKS = "books"
    SOFA = "sofa"
    ARMCHAIR = "armchair"
    TABLE = "table"
    CHAIRS = "chairs"
    BED = "bed"
    DESK = "desk"
    RUG = "rug"
    CURTAINS = "curtains"
    FLOOR_LAMP = "floor_lamp"
    PENDANT_LAMPS = "pendant_lamps"
    LANTERNS = "lanterns"
    CANDLES = "candles"
    PAINTINGS = "paintings"
    PAINT_SPLASHES = "paint_splashes"
    CLOCK = "clock"
    SCREENS = "screens"
    PANELS = "panels"
    VASE = "vase"
    FRUIT = "fruit"
    EGGS = "eggs"
    CAKE = "cake"
    BALLOONS = "balloons"
    CONFETTI = "confetti"
    FIREWORKS = "fireworks"
    HEARTS = "hearts"
    BUBBLES = "bubbles"
    UMBRELLA = "umbrella"
    SHELVES = "shelves"
    TOYS = "toys"
    SPORTS = "sports"
    BLINDS = "blinds"
    CROSSWALK = "crosswalk"
    RACKS = "racks"
    FIREPLACE = "fireplace"


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
    setting: Setting
    scene: SceneKind
    material: str
    palette: Palette
    light: Light = field(default_factory=Light)
    depth_of_field: float = 0.4  # 0 everything sharp .. 1 background very blurred
    features: tuple[Feature, ...] = ()
    elements: tuple[Element, ...] = ()
    reasons: tuple[str, ...] = ()
    # Prompt words that changed nothing in the picture: said plainly, not silently dropped.
    unused_words: tuple[str, ...] = ()
    # What the prompt fixed, so the seed's variation (`variation.py`) leaves it alone.
    direction_named: bool = False
    colors_named: bool = False

    def with_features(self, *extra: Feature) -> Recipe:
        """The recipe with `extra` features added (each once, order kept)."""
        merged = tuple(dict.fromkeys((*self.features, *extra)))
        return replace(self, features=merged)

    def without_features(self, *removed: Feature) -> Recipe:
        return replace(self, features=tuple(f for f in self.features if f not in removed))

    def explained(self, reason: str) -> Recipe:
        return replace(self, reasons=(*self.reasons, reason))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, for `backdrop generate --explain`."""
        data = asdict(self)
        for key in ("primary", "secondary", "accent"):
            data["palette"][key] = "#{:02x}{:02x}{:02x}".format(*data["palette"][key])
        data["setting"] = str(self.setting)
        data["scene"] = str(self.scene)
        data["features"] = [str(f) for f in self.features]
        data["elements"] = [str(e) for e in self.elements]
        data["unused_words"] = list(self.unused_words)
        data["reasons"] = list(self.reasons)
        return data
