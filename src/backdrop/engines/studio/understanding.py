"""Prompt → scene recipe: the nearest presets by meaning, then keywords override the details.

1. Every preset scores its best cosine similarity between the prompt's sentence embedding and
   its descriptions, plus a bonus per keyword of the prompt it lists. The best one is the base.
   Without the embedding model (not installed), keywords alone decide, with a logged warning.
2. Words then override parts of the base: materials ("marble"), colours (CSS/XKCD names with
   modifiers, hex codes), light (time of day, direction, hard/soft, mood), depth of field, and
   extras ("bokeh", "fog"...).
3. A style image, when given, sets the palette and the light last.
4. A negative prompt, when given, has the last word: see `NEGATIVE_WORDS` and `_apply_negative`.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from PIL import Image

from backdrop.engines.studio.elements import ELEMENTS
from backdrop.engines.studio.embedding import EmbeddingModelMissing, SentenceEmbedder
from backdrop.engines.studio.palette import (
    ColorMention,
    color_mentions,
    palette_from_mentions,
    style_from_image,
)
from backdrop.engines.studio.presets import DEFAULT_PRESET, PRESETS, Preset
from backdrop.engines.studio.recipe import Feature, Light, Recipe, SceneKind, Setting
from backdrop.engines.studio.styles import STYLE_WORDS, apply_style
from backdrop.engines.studio.vocabulary import FUNCTION_WORDS, ElementFinder, element_for_word

logger = logging.getLogger(__name__)

KEYWORD_BONUS = 0.35  # one keyword weighs about as much as a close paraphrase
MIN_SIMILARITY = 0.3  # below this, with no keyword either, a prompt means nothing we paint

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")

MATERIAL_WORDS: dict[str, str] = {
    "marble": "marble",
    "wood": "wood",
    "wooden": "wood",
    "oak": "wood",
    "walnut": "wood",
    "timber": "wood",
    "parquet": "wood",
    "concrete": "concrete",
    "cement": "concrete",
    "granite": "granite",
    "slate": "granite",
    "terrazzo": "granite",
    "stone": "stone",
    "stones": "stone",
    "pebbles": "stone",
    "rock": "stone",
    "sand": "sand",
    "sandy": "sand",
    "linen": "linen",
    "fabric": "linen",
    "cloth": "linen",
    "tablecloth": "linen",
    "silk": "linen",
    "tiles": "tiles",
    "tiled": "tiles",
    "tile": "tiles",
    "moss": "moss",
    "mossy": "moss",
    "snow": "snow",
    "snowy": "snow",
    "grass": "grass",
    "lawn": "grass",
    "plaster": "plaster",
    "paper": "paper",
}

# Time of day: light presets; the first listed word the prompt has wins ("golden" is last:
# it is often just a colour, as in "golden sand beach at sunset").
TIME_WORDS: dict[str, Light] = {
    "sunrise": Light("dawn", -0.6, 0.1, 0.5, 0.7, 0.7, "hopeful"),
    "dawn": Light("dawn", -0.5, 0.15, 0.3, 0.4, 0.6, "calm"),
    "morning": Light("morning", -0.6, 0.45, 0.35, 0.2, 0.85, "fresh"),
    "noon": Light("noon", 0.2, 0.95, 0.85, 0.05, 1.0, "sunny"),
    "midday": Light("noon", 0.2, 0.95, 0.85, 0.05, 1.0, "sunny"),
    "afternoon": Light("golden", 0.5, 0.45, 0.6, 0.4, 0.9, "warm"),
    "sunset": Light("sunset", 0.1, 0.08, 0.5, 0.9, 0.7, "romantic"),
    "evening": Light("golden", 0.5, 0.2, 0.45, 0.7, 0.7, "warm"),
    "dusk": Light("dusk", 0.0, 0.05, 0.2, -0.2, 0.45, "calm"),
    "twilight": Light("dusk", 0.0, 0.05, 0.2, -0.3, 0.4, "calm"),
    "night": Light("night", 0.0, 0.5, 0.3, -0.2, 0.3, "nocturnal"),
    "midnight": Light("night", 0.0, 0.5, 0.3, -0.3, 0.2, "nocturnal"),
    "golden": Light("golden", 0.5, 0.25, 0.6, 0.8, 0.85, "warm"),
}

_FEATURE_WORDS: dict[str, str] = {
    "bokeh": "bokeh",
    "blurred": "bokeh",
    "blurry": "bokeh",
    "fog": "fog",
    "foggy": "fog",
    "mist": "fog",
    "misty": "fog",
    "haze": "haze",
    "hazy": "haze",
    "rays": "rays",
    "beams": "rays",
    "godrays": "rays",
    "clouds": "clouds",
    "cloudy": "clouds",
    "fairy": "fairy_lights",
    "string": "fairy_lights",
    "neon": "neon",
    "rain": "rain",
    "rainy": "rain",
    "stars": "stars",
    "starry": "stars",
    "leaves": "leaves",
    "pumpkins": "pumpkins",
    "pumpkin": "pumpkins",
    "plant": "plant",
    "plants": "plant",
    "podium": "podium",
    "pedestal": "podium",
    "plinth": "podium",
    "window": "window_light",
    "gold": "gold",
    "spotlight": "spotlight",
    "spot": "spotlight",
    "snowing": "snowfall",
    "snowflakes": "snowfall",
    "glowing": "glow",
    "glow": "glow",
    "shadow": "leaf_shadow",
    "decorations": "fairy_lights",
    "porch": "deck",
    "deck": "deck",
    "pier": "deck",
    "terrace": "deck",
    "balcony": "deck",
    "veranda": "deck",
    "jetty": "deck",
    "decorated": "fairy_lights",
    "shadows": "leaf_shadow",
}
# Looked up in the enum here, so a misspelt feature fails at import.
FEATURE_WORDS: dict[str, Feature] = {w: Feature(f) for w, f in _FEATURE_WORDS.items()}
_NEGATED_FEATURES = {"clear": Feature.CLOUDS, "cloudless": Feature.CLOUDS}

# What each word of a negative prompt takes out of the scene (features of `recipe.FEATURES`).
# Every feature word of a prompt works here too ("fog", "rays", "plant"...); these add the
# words people write when they want something gone ("no lights", "no blur").
_NEGATIVE_WORDS: dict[str, tuple[str, ...]] = {
    **{word: (feature,) for word, feature in _FEATURE_WORDS.items()},
    "cloud": ("clouds",),
    "sun": ("sun",),
    "sunlight": ("sun", "rays"),
    "flare": ("sun",),
    "lights": ("bokeh", "fairy_lights", "glow"),
    # Leaves are painted as out-of-focus specks: "no bokeh" takes them too.
    "bokeh": ("bokeh", "leaves"),
    "blur": ("bokeh", "leaves"),
    "blurry": ("bokeh", "leaves"),
    "blurred": ("bokeh", "leaves"),
    "windows": ("windows", "window_light"),
    "trees": ("leaves",),
    "snow": ("snowfall",),
    "shapes": ("shapes",),
    "stone": ("stones",),
    "stones": ("stones",),
    "rocks": ("stones",),
    "pebbles": ("stones",),
    "reflections": ("rain",),
}
NEGATIVE_WORDS: dict[str, tuple[Feature, ...]] = {
    word: tuple(Feature(f) for f in features) for word, features in _NEGATIVE_WORDS.items()
}
# Words asking for a sharp background when they are unwanted.
_NEGATIVE_BLUR = frozenset({"blur", "blurry", "blurred", "bokeh", "defocused", "soft-focus"})
# Things the studio engine never paints: a negative prompt naming them is already satisfied.
NEVER_PAINTED = frozenset(
    {
        "people",
        "person",
        "persons",
        "human",
        "humans",
        "crowd",
        "man",
        "woman",
        "face",
        "faces",
        "text",
        "words",
        "letters",
        "watermark",
        "watermarks",
        "logo",
        "logos",
        "signature",
        "animals",
        "cars",
    }
)


class PromptUnderstanding:
    """Turns prompts into recipes; the embedder loads on first use and is shared."""

    def __init__(self, embedder: SentenceEmbedder | None = None, *, use_embeddings: bool = True):
        self._embedder = embedder or SentenceEmbedder()
        self._use_embeddings = use_embeddings
        self._lock = threading.Lock()
        self._preset_vectors: list[npt.NDArray[np.float32]] | None = None
        self._warned = False
        self._finder = ElementFinder(self._embedder)
        self._prompt_vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._keyword_finder = ElementFinder(None)

    def recipe(
        self,
        prompt: str,
        style_image: Image.Image | None = None,
        negative_prompt: str | None = None,
    ) -> Recipe:
        """The recipe for a prompt (and, optionally, a reference photo for palette and light,
        and a negative prompt: what the customer does not want to see)."""
        words = _WORD.findall(prompt.lower())
        unwanted = _WORD.findall((negative_prompt or "").lower())
        base, reason = self._base_preset(prompt, words, unwanted)
        recipe = base.recipe.explained(reason)
        recipe = _override_material(recipe, words)
        recipe = _override_light(recipe, words)
        recipe = _override_features(recipe, words)
        recipe = _override_depth_of_field(recipe, words)
        mentions = color_mentions(prompt)
        if mentions:
            palette = palette_from_mentions(recipe.palette, mentions)
            named = ", ".join(f"{m.name}→{m.role or 'in order'}" for m in mentions)
            recipe = replace(recipe, palette=palette, colors_named=True).explained(
                f"colours: {named}"
            )
        recipe = apply_style(recipe, words)
        recipe = self._add_elements(recipe, words, base, mentions)
        if style_image is not None:
            style = style_from_image(style_image, recipe.light)
            recipe = replace(
                recipe, palette=style.palette, light=style.light, colors_named=True
            ).explained("palette and light from the style image")
        return _apply_negative(recipe, unwanted)

    def prepare(self, prompts: list[str]) -> None:
        """Embed many prompts (and their words) in two batches, ahead of `recipe` for each:
        much faster than one model run per prompt (tests, benchmarks, contact sheets)."""
        if self._vectors() is None:
            return
        new = [p for p in dict.fromkeys(prompts) if p not in self._prompt_vectors]
        if new:
            self._prompt_vectors.update(zip(new, self._embedder.embed(new), strict=True))
        words = [w for p in prompts for w in _WORD.findall(p.lower())]
        self._finder.prepare(words)

    def _add_elements(
        self, recipe: Recipe, words: list[str], base: Preset, mentions: list[ColorMention]
    ) -> Recipe:
        """The elements the prompt names, and the words nothing turned into anything."""
        used = set(_UNDERSTOOD_WORDS) | FUNCTION_WORDS | set(base.keywords)
        used.update(w for text in base.descriptions for w in _WORD.findall(text.lower()))
        used.update(w for m in mentions for w in _WORD.findall(m.name.lower()))
        candidates = [
            w for w in dict.fromkeys(words) if w not in used and element_for_word(w) is None
        ]
        finder = self._finder if self._vectors() is not None else self._keyword_finder
        elements, matched = finder.find(words, candidates)
        used.update(matched)
        unused = tuple(w for w in dict.fromkeys(words) if w not in used and len(w) > 1)
        merged = tuple(dict.fromkeys((*recipe.elements, *elements)))
        recipe = replace(recipe, elements=merged, unused_words=unused)
        implied = [ELEMENTS[e].time_word for e in elements if ELEMENTS[e].time_word]
        if implied and not TIME_WORDS.keys() & set(words):
            time_word = implied[0]
            assert time_word is not None
            recipe = replace(recipe, light=TIME_WORDS[time_word]).explained(
                f"time {time_word!r} implied by the elements"
            )
        if matched:
            recipe = recipe.explained(
                "elements: " + ", ".join(f"{w}→{how}" for w, how in matched.items())
            )
        if unused:
            recipe = recipe.explained("not used: " + ", ".join(unused))
        return recipe

    def nearest_presets(self, prompt: str) -> list[tuple[str, float]]:
        """Every preset's name and its best cosine similarity to the prompt, best first."""
        vectors = self._vectors()
        if vectors is None:
            return []
        query = self._prompt_vectors.get(prompt)
        if query is None:
            if len(self._prompt_vectors) > 1024:
                self._prompt_vectors.clear()
            query = self._embedder.embed([prompt])[0]
            self._prompt_vectors[prompt] = query
        scores = [
            (p.recipe.name, float((v @ query).max())) for p, v in zip(PRESETS, vectors, strict=True)
        ]
        return sorted(scores, key=lambda item: -item[1])

    def _base_preset(
        self, prompt: str, words: list[str], unwanted: list[str]
    ) -> tuple[Preset, str]:
        word_set = set(words)
        unwanted_set = set(unwanted) - word_set
        hits = {p.recipe.name: sorted(word_set.intersection(p.keywords)) for p in PRESETS}
        # A preset the negative prompt names by one of its keywords is steered away from.
        avoided = {p.recipe.name: sorted(unwanted_set.intersection(p.keywords)) for p in PRESETS}
        similarity = dict(self.nearest_presets(prompt)) if prompt.strip() else {}
        best: Preset | None = None
        best_score = 0.0
        for preset in PRESETS:
            name = preset.recipe.name
            score = similarity.get(name, 0.0) + KEYWORD_BONUS * len(hits[name])
            score -= 2 * KEYWORD_BONUS * len(avoided[name])
            if score > best_score:
                best, best_score = preset, score
        if best is None or best_score < MIN_SIMILARITY:
            return DEFAULT_PRESET, "no prompt words matched: the default studio"
        name = best.recipe.name
        parts = []
        if hits[name]:
            parts.append("keywords " + ", ".join(hits[name]))
        if name in similarity:
            parts.append(f"similarity {similarity[name]:.2f}")
        steered = sorted({w for names in avoided.values() for w in names})
        if steered:
            parts.append("steered away from " + ", ".join(steered))
        return best, f"base {name!r} ({'; '.join(parts)})"

    def _vectors(self) -> list[npt.NDArray[np.float32]] | None:
        """The embeddings of every preset's descriptions, computed once; None without a model."""
        if not self._use_embeddings:
            return None
        with self._lock:
            if self._preset_vectors is not None:
                return self._preset_vectors
            try:
                self._embedder.load()
            except EmbeddingModelMissing as error:
                if not self._warned:
                    logger.warning("prompt understanding falls back to keywords only: %s", error)
                    self._warned = True
                self._use_embeddings = False
                return None
            texts = [text for preset in PRESETS for text in preset.descriptions]
            flat = self._embedder.embed(texts)
            vectors: list[npt.NDArray[np.float32]] = []
            start = 0
            for preset in PRESETS:
                vectors.append(flat[start : start + len(preset.descriptions)])
                start += len(preset.descriptions)
            self._preset_vectors = vectors
            return vectors


def _override_material(recipe: Recipe, words: list[str]) -> Recipe:
    for word in words:
        material = MATERIAL_WORDS.get(word)
        if material == "stone" and Feature.STONES in recipe.features:
            continue  # "river stones" are drawn lying on the ground, not the ground itself
        if material is not None and material != recipe.material and _has_surface(recipe):
            return replace(recipe, material=material).explained(
                f"material {material!r} from {word!r}"
            )
    return recipe


def _has_surface(recipe: Recipe) -> bool:
    """Whether the scene has a floor or table whose material a word may change."""
    return recipe.setting in (
        Setting.STUDIO,
        Setting.TABLETOP,
        Setting.INTERIOR,
    ) or recipe.scene in (SceneKind.SPA, SceneKind.BEACH)


HARD_WORDS = frozenset(
    {"hard", "harsh", "dramatic", "contrast", "crisp", "direct", "sunny", "sunlight"}
)
SOFT_WORDS = frozenset(
    {"soft", "diffused", "diffuse", "gentle", "overcast", "even", "cloudy", "misty"}
)
DARK_WORDS = frozenset({"dark", "moody", "dim", "low-key"})
BRIGHT_WORDS = frozenset({"bright", "airy", "high-key", "sunny"})
WARM_WORDS = frozenset({"warm", "cosy", "cozy"})
COOL_WORDS = frozenset({"cool", "cold", "icy", "frosty"})
SHALLOW_WORDS = frozenset({"blurred", "blurry", "bokeh", "shallow", "dreamy"})
DEEP_WORDS = frozenset({"sharp", "focus", "crisp", "detailed"})
DIRECTION_WORDS = frozenset(
    {"left", "right", "side", "back", "rim", "backlit", "backlight", "light"}
)
# Every word some override reads: these are never "unused".
_UNDERSTOOD_WORDS: frozenset[str] = frozenset().union(
    MATERIAL_WORDS,
    TIME_WORDS,
    FEATURE_WORDS,
    _NEGATED_FEATURES,
    HARD_WORDS,
    SOFT_WORDS,
    DARK_WORDS,
    BRIGHT_WORDS,
    WARM_WORDS,
    COOL_WORDS,
    SHALLOW_WORDS,
    DEEP_WORDS,
    DIRECTION_WORDS,
    STYLE_WORDS,
)

# Whole words only: "backdrop" is not "back".
_DIRECTION = re.compile(
    r"\bfrom the (left|right)\b|\b(left|right)[- ]side\b|\b(back|rim|backlit|backlight)\b"
)


def _override_light(recipe: Recipe, words: list[str]) -> Recipe:
    light = recipe.light
    reasons = []
    for word in TIME_WORDS:
        if word in words:
            time = TIME_WORDS[word]
            # A scene's own light keeps its mood and side unless the prompt names them.
            light = replace(
                time,
                direction=light.direction
                if recipe.setting in (Setting.TABLETOP, Setting.INTERIOR)
                else time.direction,
            )
            reasons.append(f"time {time.time_of_day!r} from {word!r}")
            break
    text = " ".join(words)
    match = _DIRECTION.search(text)
    if match is not None:
        side = match.group(1) or match.group(2)
        if side is not None:
            light = replace(light, direction=-0.8 if side == "left" else 0.8)
        else:
            light = replace(light, elevation=0.25, direction=light.direction * 0.2)
        reasons.append(f"light direction from {match.group(0)!r}")
        recipe = replace(recipe, direction_named=True)
    if HARD_WORDS.intersection(words):
        light = replace(light, hardness=max(light.hardness, 0.8))
        reasons.append("hard light")
    elif SOFT_WORDS.intersection(words):
        light = replace(light, hardness=min(light.hardness, 0.2))
        reasons.append("soft light")
    if DARK_WORDS.intersection(words):
        light = replace(light, brightness=min(light.brightness, 0.4), mood="moody")
    if BRIGHT_WORDS.intersection(words):
        light = replace(light, brightness=max(light.brightness, 0.9))
    if WARM_WORDS.intersection(words):
        light = replace(light, warmth=max(light.warmth, 0.5))
    if COOL_WORDS.intersection(words):
        light = replace(light, warmth=min(light.warmth, -0.5))
    if light == recipe.light:
        return recipe
    return replace(recipe, light=light).explained("light: " + (", ".join(reasons) or "adjectives"))


def _override_features(recipe: Recipe, words: list[str]) -> Recipe:
    added = [FEATURE_WORDS[w] for w in words if w in FEATURE_WORDS]
    if recipe.light.time_of_day in ("sunset", "golden", "dawn") and recipe.setting in (
        Setting.LANDSCAPE,
        Setting.WATER,
    ):
        added.append(Feature.SUN)
    if Feature.RAIN in added and recipe.setting is not Setting.CITY:
        added.remove(Feature.RAIN)
    removed = [_NEGATED_FEATURES[w] for w in words if w in _NEGATED_FEATURES]
    if not added and not removed:
        return recipe
    result = recipe.with_features(*added).without_features(*removed)
    if result.features == recipe.features:
        return recipe
    return result.explained("extras: " + ", ".join(result.features))


def _override_depth_of_field(recipe: Recipe, words: list[str]) -> Recipe:
    if SHALLOW_WORDS.intersection(words):
        return replace(recipe, depth_of_field=max(recipe.depth_of_field, 0.85)).explained(
            "shallow depth of field"
        )
    if DEEP_WORDS.intersection(words):
        return replace(recipe, depth_of_field=min(recipe.depth_of_field, 0.15)).explained(
            "deep focus"
        )
    return recipe


def _apply_negative(recipe: Recipe, unwanted: list[str]) -> Recipe:
    """The recipe without what the negative prompt names.

    - a word naming a feature removes it ("clouds", "bokeh", "fog", "lights", "plant"...);
    - blur words ("blurry", "bokeh") also keep the background sharp;
    - the surface material, when named ("no marble"), becomes plain plaster;
    - things the engine never paints ("people", "text", "logo") need nothing and are noted.
    The base preset was already steered away from presets the negative prompt names.
    """
    if not unwanted:
        return recipe
    removed = [f for word in unwanted for f in NEGATIVE_WORDS.get(word, ())]
    result = recipe.without_features(*removed)
    unwanted_elements = {element_for_word(word) for word in unwanted}
    result = replace(
        result, elements=tuple(e for e in result.elements if e not in unwanted_elements)
    )
    notes = []
    if result.features != recipe.features or result.elements != recipe.elements:
        gone = [str(f) for f in recipe.features if f not in result.features]
        gone += [str(e) for e in recipe.elements if e not in result.elements]
        notes.append("removed " + ", ".join(gone))
    if _NEGATIVE_BLUR.intersection(unwanted) and result.depth_of_field > 0.15:
        result = replace(result, depth_of_field=0.15)
        notes.append("sharp background")
    materials = {MATERIAL_WORDS[w] for w in unwanted if w in MATERIAL_WORDS}
    if result.material in materials and _has_surface(result):
        result = replace(result, material="plaster")
        notes.append(f"no {recipe.material}")
    never = sorted(NEVER_PAINTED.intersection(unwanted))
    if never:
        notes.append("never painted: " + ", ".join(never))
    if not notes:
        return recipe
    return result.explained("negative prompt: " + "; ".join(notes))
