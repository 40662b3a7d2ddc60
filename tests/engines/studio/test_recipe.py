from __future__ import annotations

import json

from backdrop.engines.studio.presets import PRESETS
from backdrop.engines.studio.recipe import (
    FEATURES,
    MATERIALS,
    TIMES_OF_DAY,
    Feature,
    Light,
    Palette,
    Recipe,
    SceneKind,
    Setting,
)
from backdrop.engines.studio.scenes import RENDERERS


def test_every_preset_uses_known_names() -> None:
    for preset in PRESETS:
        recipe = preset.recipe
        assert recipe.setting in set(Setting) and recipe.setting in RENDERERS
        assert recipe.material in MATERIALS
        assert recipe.light.time_of_day in TIMES_OF_DAY
        assert set(recipe.features) <= set(FEATURES), recipe.name
        assert preset.descriptions
    assert len({p.recipe.name for p in PRESETS}) == len(PRESETS)


def test_features_are_added_once_and_removed() -> None:
    recipe = Recipe(
        "r",
        Setting.STUDIO,
        SceneKind.SWEEP,
        "paper",
        Palette((1, 2, 3), (4, 5, 6), (7, 8, 9)),
        Light(),
        features=(Feature.FOG,),
    )
    assert recipe.with_features(Feature.FOG, Feature.RAYS).features == ("fog", "rays")
    assert recipe.without_features(Feature.FOG).features == ()


def test_to_dict_is_json_with_hex_colours() -> None:
    recipe = Recipe(
        "r",
        Setting.STUDIO,
        SceneKind.SWEEP,
        "paper",
        Palette((255, 0, 0), (0, 255, 0), (0, 0, 255)),
    ).explained("why")
    data = json.loads(json.dumps(recipe.to_dict()))
    assert data["palette"] == {"primary": "#ff0000", "secondary": "#00ff00", "accent": "#0000ff"}
    assert data["reasons"] == ["why"]


def test_a_misspelt_scene_or_feature_fails_loudly() -> None:
    import pytest

    with pytest.raises(ValueError):
        SceneKind("mountian")
    with pytest.raises(ValueError):
        Feature("fgo")
