from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from backdrop.engines.studio.embedding import EmbeddingModelMissing, SentenceEmbedder
from backdrop.engines.studio.recipe import Element
from backdrop.engines.studio.understanding import PromptUnderstanding


@pytest.mark.parametrize(
    ("prompt", "setting", "scene", "material", "time_of_day"),
    [
        (
            "on a white marble countertop, bright kitchen, morning light",
            "tabletop",
            "kitchen",
            "marble",
            "morning",
        ),
        ("rustic oak wooden table in a warm cafe", "tabletop", "cafe", "wood", "golden"),
        ("raw concrete floor in an industrial loft", "interior", "loft", "concrete", "morning"),
        ("golden sand beach at sunset with calm sea", "water", "beach", "sand", "sunset"),
        (
            "snowy mountain peaks under a pale blue winter sky",
            "landscape",
            "mountains",
            "snow",
            "noon",
        ),
        ("rainy neon street at night, cyberpunk colours", "city", "street", "concrete", "night"),
        ("bathroom shelf with white tiles and a plant", "tabletop", "shelf", "tiles", "morning"),
        ("misty pine forest at dawn", "nature", "forest", "moss", "dawn"),
        (
            "abstract geometric shapes in teal and coral",
            "abstract",
            "geometric",
            "plaster",
            "studio",
        ),
    ],
)
def test_keywords_pick_setting_material_and_light(
    understanding: PromptUnderstanding,
    prompt: str,
    setting: str,
    scene: str,
    material: str,
    time_of_day: str,
) -> None:
    recipe = understanding.recipe(prompt)
    assert (recipe.setting, recipe.scene, recipe.material, recipe.light.time_of_day) == (
        setting,
        scene,
        material,
        time_of_day,
    )


def test_keywords_pick_the_palette(understanding: PromptUnderstanding) -> None:
    teal_coral = understanding.recipe("abstract geometric shapes in teal and coral").palette
    assert teal_coral.primary == (2, 147, 134)  # xkcd teal
    assert teal_coral.secondary == (252, 90, 80)  # xkcd coral
    turquoise = understanding.recipe("tropical beach at noon, turquoise water, clear sky")
    red, green, blue = turquoise.palette.secondary  # the water, named by its noun
    assert green > 150 and blue > 150 and red < 60
    assert "clouds" not in turquoise.features  # "clear sky"
    pink = understanding.recipe("pastel pink studio with soft diffused light")
    red, green, blue = pink.palette.primary
    assert red > 230 and red > green + 40 and blue > green
    assert pink.light.hardness <= 0.2
    assert understanding.recipe("a #ff8800 backdrop").palette.primary[0] == 255


def test_light_direction_and_mood(understanding: PromptUnderstanding) -> None:
    recipe = understanding.recipe("white studio, hard light from the right")
    assert recipe.light.direction > 0.5 and recipe.light.hardness >= 0.8
    assert understanding.recipe("dark moody studio").light.brightness <= 0.4


def test_depth_of_field_words(understanding: PromptUnderstanding) -> None:
    assert understanding.recipe("autumn park, blurred").depth_of_field >= 0.85
    assert understanding.recipe("autumn park, everything sharp").depth_of_field <= 0.15


@pytest.mark.parametrize(
    ("prompt", "settings"),
    [
        ("a cosy reading nook", {"interior"}),
        ("somewhere tropical", {"water"}),
        ("a comfortable armchair next to a bookcase", {"interior"}),
        ("on the kitchen counter", {"tabletop"}),
    ],
)
def test_free_text_lands_on_the_nearest_recipe(
    understanding: PromptUnderstanding, prompt: str, settings: set[str]
) -> None:
    recipe = understanding.recipe(prompt)
    assert recipe.setting in settings
    assert any("similarity" in reason for reason in recipe.reasons)


def test_unrelated_words_give_the_default_studio(understanding: PromptUnderstanding) -> None:
    assert understanding.recipe("").name == "white studio"
    assert understanding.recipe("something unremarkable").name == "white studio"


class _MissingEmbedder(SentenceEmbedder):
    def load(self) -> None:
        raise EmbeddingModelMissing("not installed (test)")


def test_without_the_model_keywords_still_decide(caplog: pytest.LogCaptureFixture) -> None:
    understanding = PromptUnderstanding(_MissingEmbedder())
    with caplog.at_level(logging.WARNING):
        recipe = understanding.recipe("desert dunes under a hot orange sky")
    assert recipe.scene == "dunes"
    assert "keywords only" in caplog.text
    # Without the model, only words decide: a paraphrase with no keyword finds nothing...
    assert understanding.recipe("a quiet place to think").name == "white studio"
    # ...but elements named by their own words are still drawn.
    assert Element.BOOKSHELF in understanding.recipe("a bookcase by the wall").elements


def test_recipe_is_explainable(understanding: PromptUnderstanding) -> None:
    data = understanding.recipe("luxury hotel lobby with gold accents").to_dict()
    assert data["setting"] == "interior"
    assert data["palette"]["accent"].startswith("#")
    assert data["reasons"][0].startswith("base 'hotel lobby'")


def test_negative_prompt_removes_the_features_it_names(
    understanding: PromptUnderstanding,
) -> None:
    beach = understanding.recipe("golden sand beach at sunset with calm sea")
    assert "clouds" in beach.features
    cleared = understanding.recipe(
        "golden sand beach at sunset with calm sea", negative_prompt="clouds, people, text"
    )
    assert "clouds" not in cleared.features and cleared.name == beach.name
    assert any("people" in reason for reason in cleared.reasons)
    park = understanding.recipe("autumn park with orange leaves, blurred", negative_prompt="bokeh")
    assert not {"bokeh", "leaves"}.intersection(park.features)
    assert park.depth_of_field <= 0.15
    christmas = understanding.recipe("christmas scene", negative_prompt="no lights")
    assert not {"fairy_lights", "bokeh"}.intersection(christmas.features)


def test_negative_prompt_steers_away_from_a_preset_and_a_material(
    understanding: PromptUnderstanding,
) -> None:
    assert understanding.recipe("sunset").name == "sunset beach"
    assert understanding.recipe("sunset", negative_prompt="beach, sea").name != "sunset beach"
    kitchen = understanding.recipe("white marble countertop kitchen", negative_prompt="marble")
    assert kitchen.material != "marble"


def test_an_empty_negative_prompt_changes_nothing(understanding: PromptUnderstanding) -> None:
    prompt = "misty pine forest at dawn"
    plain = understanding.recipe(prompt)
    assert plain == understanding.recipe(prompt, negative_prompt="")
    # Things never painted leave the scene as it is; the reasons only note them.
    unpeopled = understanding.recipe(prompt, negative_prompt="people")
    assert replace(unpeopled, reasons=()) == replace(plain, reasons=())


def test_backdrop_is_not_a_backlight_and_river_stones_keep_the_moss(
    understanding: PromptUnderstanding,
) -> None:
    block = understanding.recipe("sage green and cream colour block backdrop")
    assert block.light.elevation > 0.5
    spa = understanding.recipe("green moss and river stones, spa mood")
    assert spa.material == "moss" and "stones" in spa.features
