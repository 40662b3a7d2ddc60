from __future__ import annotations

import pytest

from backdrop.engines.studio.recipe import Element, Feature, Setting
from backdrop.engines.studio.understanding import PromptUnderstanding


@pytest.mark.parametrize(
    ("prompt", "element"),
    [
        ("Beautiful sunset over mountains", Element.MOUNTAINS),
        ("historic architecture with classical columns", Element.COLUMNS),
        ("artistic studio with colorful paint splashes", Element.PAINT_SPLASHES),
        ("a garden with blooming flowers", Element.FLOWERS),
        ("a cosy room with books", Element.BOOKS),
        ("an office with glass windows and a city view of skyscrapers", Element.SKYLINE),
        ("a beach with palm trees", Element.PALMS),
        ("a street with cafes and shops", Element.SHOP_FRONTS),
        ("a park with walking paths", Element.PATH),
    ],
)
def test_the_issue_examples_name_their_elements(
    understanding: PromptUnderstanding, prompt: str, element: Element
) -> None:
    assert element in understanding.recipe(prompt).elements


def test_synonyms_are_found_by_meaning(understanding: PromptUnderstanding) -> None:
    # "walking" is in no word list; the embedding maps it onto the path.
    recipe = understanding.recipe("a walking route through the park")
    assert Element.PATH in recipe.elements
    assert any("walking→path (similarity" in reason for reason in recipe.reasons)
    # A word near nothing in particular stays unused instead of being forced onto something.
    assert understanding.recipe("a cat").elements == ()


def test_words_nothing_used_are_listed(understanding: PromptUnderstanding) -> None:
    recipe = understanding.recipe("a cat")
    assert recipe.unused_words == ("cat",)
    assert recipe.to_dict()["unused_words"] == ["cat"]
    sunset = understanding.recipe("Beautiful sunset over mountains")
    assert sunset.unused_words == ("beautiful",)


def test_a_general_element_gives_way_to_a_specific_one(
    understanding: PromptUnderstanding,
) -> None:
    elements = understanding.recipe("palm trees on a beach").elements
    assert Element.PALMS in elements and Element.TREES not in elements


def test_rooms_of_a_kind_get_their_own_base(understanding: PromptUnderstanding) -> None:
    names = {
        understanding.recipe(p).name
        for p in (
            "a conference room",
            "a bedroom",
            "a dining room",
            "a home library with books",
            "a bohemian room",
        )
    }
    assert len(names) == 5


def test_fireworks_bring_the_night_unless_a_time_is_named(
    understanding: PromptUnderstanding,
) -> None:
    assert understanding.recipe("party with fireworks").light.time_of_day == "night"
    assert understanding.recipe("fireworks at noon").light.time_of_day == "noon"


def test_a_porch_is_a_deck_in_front_of_the_view(understanding: PromptUnderstanding) -> None:
    recipe = understanding.recipe("mountain cabin porch with a view of the valley")
    assert recipe.setting is Setting.LANDSCAPE and Feature.DECK in recipe.features


def test_the_negative_prompt_removes_elements(understanding: PromptUnderstanding) -> None:
    recipe = understanding.recipe("a garden with flowers", negative_prompt="no flowers")
    assert Element.FLOWERS not in recipe.elements


def test_style_words_change_the_look_of_the_same_room(
    understanding: PromptUnderstanding,
) -> None:
    vintage = understanding.recipe("a vintage workspace")
    minimal = understanding.recipe("a minimalist workspace")
    assert vintage.elements == minimal.elements
    assert vintage.palette != minimal.palette
    assert "vintage" not in vintage.unused_words
    # A named colour wins over the style.
    assert understanding.recipe("a vintage workspace with sage green walls").palette.primary != (
        vintage.palette.primary
    )


def test_a_fireplace_is_drawn_not_a_christmas_tree(understanding: PromptUnderstanding) -> None:
    recipe = understanding.recipe("cozy living room with a fireplace")
    assert Element.FIREPLACE in recipe.elements and recipe.name != "christmas"
