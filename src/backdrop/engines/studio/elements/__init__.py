"""The element vocabulary: every thing a prompt may name, how it is drawn and where it goes.

One registry (`ELEMENTS`) feeds the prompt understanding (its words, and its phrases for the
sentence embedding's synonyms), the composer (its layer, size, count) and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from backdrop.engines.studio.elements import built, decor, furniture, natural
from backdrop.engines.studio.elements.canvas import Canvas, Look, Placement
from backdrop.engines.studio.recipe import Element

Draw = Callable[[Canvas, Placement, Look, np.random.Generator], None]


class Layer(Enum):
    """Where in a scene an element belongs."""

    SKY = "sky"  # floating or hanging in the upper frame
    FAR = "far"  # on the horizon, hazed; indoors seen through a window
    WALL = "wall"  # against the back wall (or standing along the horizon outdoors)
    GROUND = "ground"  # standing on the floor beside the subject
    TABLE = "table"  # a prop on the surface beside the subject
    OVERLAY = "overlay"  # strewn over the whole frame


@dataclass(frozen=True)
class ElementSpec:
    """How one element is named, drawn and placed."""

    draw: Draw
    layer: Layer
    words: tuple[str, ...]  # words that name it outright
    phrase: str  # what it is, for matching synonyms by meaning
    size: (
        float  # height: of the horizon's height (sky, far, wall) or of the subject (ground, table)
    )
    count: int = 1  # how many are drawn
    width: float = 0.6  # in heights, to keep it clear of the subject
    # The time of day it implies when the prompt names none (fireworks are seen at night).
    time_word: str | None = None


def _e(
    draw: Draw,
    layer: Layer,
    words: str,
    phrase: str,
    size: float,
    count: int = 1,
    width: float = 0.6,
) -> ElementSpec:
    return ElementSpec(draw, layer, tuple(words.split()), phrase, size, count, width)


ELEMENTS: dict[Element, ElementSpec] = {
    Element.MOUNTAINS: _e(
        natural.mountains,
        Layer.FAR,
        "mountain mountains peaks peak alps alpine summit",
        "mountain peaks",
        0.55,
    ),
    Element.HILLS: _e(
        natural.hills, Layer.FAR, "hill hills hillside countryside", "rolling hills", 0.35
    ),
    Element.TREES: _e(
        natural.trees,
        Layer.GROUND,
        "tree trees birch orchard blossom",
        "a leafy tree",
        1.5,
        3,
        0.7,
    ),
    Element.PINES: _e(
        natural.pines,
        Layer.GROUND,
        "pine pines fir spruce conifer evergreen",
        "a pine tree",
        2.2,
        3,
        0.6,
    ),
    Element.PALMS: _e(natural.palms, Layer.GROUND, "palm palms", "a palm tree", 2.2, 2, 0.9),
    Element.CACTUS: _e(
        natural.cactus, Layer.GROUND, "cactus cacti saguaro", "a cactus", 1.0, 1, 0.6
    ),
    Element.FLOWERS: _e(
        natural.flowers,
        Layer.GROUND,
        "flower flowers blooming blossoms roses rose tulips tulip poppies daisies wildflower"
        " bouquet",
        "blooming flowers",
        0.45,
        3,
        1.0,
    ),
    Element.BUSHES: _e(
        natural.bushes,
        Layer.GROUND,
        "bush bushes shrub shrubs hedge hedges garden",
        "a green bush",
        0.55,
        2,
        1.0,
    ),
    Element.POTTED_PLANT: _e(
        natural.potted_plant,
        Layer.GROUND,
        "potted succulent monstera fern ferns houseplant houseplants greenery",
        "a potted houseplant",
        0.7,
        1,
        0.6,
    ),
    Element.WATER: _e(natural.water, Layer.FAR, "lake pond river riverside", "a lake", 0.12),
    Element.PATH: _e(
        natural.path, Layer.FAR, "path paths pathway walkway trail", "a walking path", 1.0
    ),
    Element.SKYLINE: _e(
        built.skyline,
        Layer.FAR,
        "skyline skyscrapers skyscraper downtown towers",
        "city skyline",
        0.6,
    ),
    Element.HOUSES: _e(
        built.houses,
        Layer.FAR,
        "house houses farmhouse cottage village cabin doorstep",
        "a house",
        0.55,
        1,
        1.3,
    ),
    Element.LIGHTHOUSE: _e(built.lighthouse, Layer.FAR, "lighthouse", "a lighthouse", 0.45),
    Element.SAILBOATS: _e(
        built.sailboats,
        Layer.FAR,
        "sailboat sailboats boat boats yacht harbour harbor",
        "a sailboat",
        0.15,
        2,
    ),
    Element.BRIDGE: _e(built.bridge, Layer.FAR, "bridge", "a bridge", 0.45),
    Element.COLUMNS: _e(
        built.columns,
        Layer.WALL,
        "column columns pillar pillars colonnade temple",
        "classical columns",
        0.95,
        4,
        0.35,
    ),
    Element.ARCHES: _e(
        built.arches, Layer.WALL, "arch arches archway arcade", "an arch", 0.85, 3, 0.9
    ),
    Element.SHOP_FRONTS: _e(
        built.shop_fronts,
        Layer.WALL,
        "shop shops shopfront storefront cafes boutique boutiques market",
        "shop fronts",
        0.7,
        3,
        1.0,
    ),
    Element.STREET_LAMPS: _e(
        built.street_lamps,
        Layer.GROUND,
        "lamppost lampposts streetlight streetlights",
        "a street lamp",
        1.6,
        2,
        0.3,
    ),
    Element.WINDOW: _e(
        built.window, Layer.WALL, "window windows windowsill", "a window", 0.75, 1, 0.9
    ),
    Element.BOOKSHELF: _e(
        furniture.bookshelf,
        Layer.WALL,
        "bookshelf bookshelves bookcase bookcases library",
        "a bookshelf",
        0.9,
        2,
        0.6,
    ),
    Element.BOOKS: _e(
        furniture.books, Layer.TABLE, "book books novels stacked", "a stack of books", 0.3, 1, 1.1
    ),
    Element.SOFA: _e(furniture.sofa, Layer.GROUND, "sofa couch settee", "a sofa", 0.5, 1, 1.8),
    Element.ARMCHAIR: _e(
        furniture.armchair, Layer.GROUND, "armchair armchairs", "an armchair", 0.65, 1, 0.9
    ),
    Element.TABLE: _e(
        furniture.table,
        Layer.GROUND,
        "dining conference boardroom meeting",
        "a dining table",
        0.45,
        1,
        2.0,
    ),
    Element.CHAIRS: _e(
        furniture.chairs,
        Layer.GROUND,
        "chair chairs stool stools seating bench benches",
        "a chair",
        0.55,
        2,
        0.5,
    ),
    Element.BED: _e(
        furniture.bed, Layer.GROUND, "bed beds bedroom headboard", "a bed", 0.6, 1, 2.0
    ),
    Element.DESK: _e(
        furniture.desk, Layer.GROUND, "desk desks workspace office workshop", "a desk", 0.5, 1, 1.7
    ),
    Element.RUG: _e(furniture.rug, Layer.GROUND, "rug rugs carpet", "a patterned rug", 0.4, 1, 2.6),
    Element.CURTAINS: _e(
        furniture.curtains, Layer.WALL, "curtain curtains drapes", "curtains", 0.95, 2, 0.7
    ),
    Element.FLOOR_LAMP: _e(
        furniture.floor_lamp, Layer.GROUND, "lamp floor-lamp", "a floor lamp", 1.1, 1, 0.3
    ),
    Element.PENDANT_LAMPS: _e(
        furniture.pendant_lamps,
        Layer.SKY,
        "pendant chandelier chandeliers",
        "a pendant lamp",
        0.5,
        3,
        0.4,
    ),
    Element.LANTERNS: _e(
        decor.lanterns, Layer.SKY, "lantern lanterns", "a paper lantern", 0.45, 5, 0.25
    ),
    Element.CANDLES: _e(
        decor.candles, Layer.TABLE, "candle candles candlelight", "candles", 0.4, 1, 0.9
    ),
    Element.PAINTINGS: _e(
        decor.paintings,
        Layer.WALL,
        "painting paintings framed artwork gallery canvases",
        "a framed painting",
        0.3,
        2,
        1.2,
    ),
    Element.PAINT_SPLASHES: _e(
        decor.paint_splashes,
        Layer.WALL,
        "splash splashes splashed splatter paint",
        "paint splashes",
        0.45,
        2,
        2.0,
    ),
    Element.CLOCK: _e(decor.clock, Layer.WALL, "clock", "a wall clock", 0.2, 1, 1.0),
    Element.SCREENS: _e(
        decor.screens,
        Layer.WALL,
        "monitor monitors screen screens whiteboard whiteboards",
        "a computer screen",
        0.4,
        1,
        1.3,
    ),
    Element.PANELS: _e(
        decor.panels, Layer.WALL, "panel panels acoustic", "wall panels", 0.3, 1, 2.0
    ),
    Element.VASE: _e(
        decor.vase, Layer.TABLE, "vase vases ceramic eucalyptus sprig", "a vase", 0.45, 1, 0.6
    ),
    Element.FRUIT: _e(
        decor.fruit,
        Layer.TABLE,
        "fruit fruits basket apples oranges",
        "a bowl of fruit",
        0.3,
        1,
        1.2,
    ),
    Element.EGGS: _e(decor.eggs, Layer.TABLE, "egg eggs", "easter eggs", 0.15, 1, 1.5),
    Element.CAKE: _e(
        decor.cake, Layer.TABLE, "cake cakes pastries dessert", "a cake", 0.45, 1, 1.0
    ),
    Element.BALLOONS: _e(decor.balloons, Layer.SKY, "balloon balloons", "balloons", 0.6, 2, 0.7),
    Element.CONFETTI: _e(decor.confetti, Layer.OVERLAY, "confetti sprinkles", "confetti", 1.0),
    Element.FIREWORKS: replace(
        _e(decor.fireworks, Layer.SKY, "firework fireworks", "fireworks", 0.35, 3, 1.0),
        time_word="night",
    ),
    Element.HEARTS: _e(decor.hearts, Layer.SKY, "heart hearts valentine", "hearts", 0.1, 6, 1.0),
    Element.BUBBLES: _e(decor.bubbles, Layer.OVERLAY, "bubble bubbles", "floating bubbles", 1.0),
    Element.UMBRELLA: _e(
        decor.umbrella, Layer.GROUND, "umbrella parasol", "a beach umbrella", 1.0, 1, 1.2
    ),
    Element.SHELVES: _e(
        decor.shelves,
        Layer.WALL,
        "shelf shelves pantry bakery groceries jars",
        "shelves",
        0.5,
        1,
        2.0,
    ),
    Element.TOYS: _e(
        decor.toys, Layer.GROUND, "toy toys playroom nursery kids", "toys", 0.3, 1, 1.6
    ),
    Element.SPORTS: _e(
        decor.sports,
        Layer.GROUND,
        "gym dumbbells dumbbell yoga mat fitness",
        "gym equipment",
        0.5,
        1,
        2.0,
    ),
    Element.BLINDS: _e(decor.blinds, Layer.WALL, "blinds shutters", "window blinds", 0.7, 1, 1.5),
    Element.CROSSWALK: _e(
        decor.crosswalk, Layer.FAR, "crosswalk zebra crossing intersection", "a crosswalk", 0.3
    ),
    Element.RACKS: _e(
        decor.racks, Layer.WALL, "server servers rack racks", "server racks", 0.9, 4, 0.5
    ),
    Element.FIREPLACE: _e(
        furniture.fireplace,
        Layer.WALL,
        "fireplace fireside hearth mantel",
        "a fireplace",
        0.6,
        1,
        1.4,
    ),
}

# Every element has an entry: a new member of `Element` without one fails at import.
_missing = set(Element) - set(ELEMENTS)
if _missing:
    raise RuntimeError(f"elements without a drawing: {sorted(_missing)}")

# A more specific element named makes the general one redundant ("palm trees", "pendant lamps").
SUBSUMES: dict[Element, Element] = {
    Element.PALMS: Element.TREES,
    Element.PINES: Element.TREES,
    Element.PENDANT_LAMPS: Element.FLOOR_LAMP,
    Element.BOOKSHELF: Element.BOOKS,
}

WORDS: dict[str, Element] = {
    word: element for element, spec in ELEMENTS.items() for word in spec.words
}

__all__ = ["ELEMENTS", "SUBSUMES", "WORDS", "Canvas", "ElementSpec", "Layer", "Look", "Placement"]
