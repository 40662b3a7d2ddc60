"""A worker's generation engines: which class an id builds, and what is loaded at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from backdrop.engines.diffusion import DiffusionGenerator
from backdrop.engines.generators import Generators, create_generator
from backdrop.engines.studio import StudioGenerator
from backdrop.errors import UnknownModel, WeightsUnavailable
from backdrop.kinds import GenerationEngine
from backdrop.settings import DiffusionSettings, GenerationSettings


def test_each_id_builds_its_engine_once() -> None:
    generators = Generators(GenerationSettings())
    studio = generators.get()
    assert isinstance(studio, StudioGenerator) and generators.get("studio") is studio
    assert isinstance(generators.get(GenerationEngine.DIFFUSION), DiffusionGenerator)
    with pytest.raises(UnknownModel, match="known engines: studio, diffusion"):
        generators.get("dall-e")
    with pytest.raises(UnknownModel):
        create_generator("dall-e", GenerationSettings())


def test_a_diffusion_default_is_checked_at_start_but_loads_with_its_first_order(
    tmp_path: Path,
) -> None:
    missing = DiffusionSettings(model=str(tmp_path / "no-such-pipeline"))
    generators = Generators(GenerationSettings(engine="diffusion", diffusion=missing))
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        generators.check_default()
    generators.warm_up()  # loads nothing: it would fail here
    engine = generators.get()
    assert isinstance(engine, DiffusionGenerator) and not engine.loaded
    assert engine.describe() == f"diffusion: {missing.model}, not loaded"


def test_a_studio_default_is_loaded_at_start() -> None:
    generators = Generators(GenerationSettings())
    generators.check_default()  # the studio always can run: keywords without its model
    generators.warm_up()
    assert generators.get().describe() == "studio: procedural scenes on the CPU"
