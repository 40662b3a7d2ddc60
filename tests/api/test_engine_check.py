"""A generation engine that cannot run is refused when the order is created, uncharged."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backdrop.engines.generators import Generators, KnownEngines
from backdrop.errors import UnknownModel, WeightsUnavailable
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import DiffusionSettings, GenerationSettings, Settings
from tests.api.flow import upload
from tests.conftest import jpeg_bytes, subject_photo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A diffusion model that is not there: with or without the extra, the engine cannot run.
    return Settings(
        data_dir=tmp_path / "data",
        public_url=None,
        database_url=None,
        generation=GenerationSettings(diffusion=DiffusionSettings(model=str(tmp_path / "none"))),
    )


@pytest.mark.parametrize("path", ["background-generator", "product-photoshoot"])
def test_an_engine_that_cannot_run_is_refused_at_creation(
    client: TestClient, runtime: EmbeddedNode, api_key: str, settings: Settings, path: str
) -> None:
    image = upload(client, api_key, jpeg_bytes(subject_photo(64, 48)[0]))
    response = client.post(
        f"/external/api/v1/{path}",
        json={"imageUrl": image, "textPrompt": "a beach", "engine": "diffusion"},
        headers={"x-api-key": api_key},
    )
    assert response.status_code == 503, response.text
    assert response.json()["message"] == "MODEL_UNAVAILABLE"
    assert str(settings.data_dir.parent) not in response.text
    assert runtime.orders.pending() == []
    account = client.get("/external/api/v1/account", headers={"x-api-key": api_key})
    assert account.json()["body"]["credits"] == 10
    unknown = client.post(
        f"/external/api/v1/{path}",
        json={"imageUrl": image, "textPrompt": "a beach", "engine": "dall-e"},
        headers={"x-api-key": api_key},
    )
    assert unknown.status_code == 400 and unknown.json()["message"] == "UNKNOWN_MODEL"


def test_the_embedded_check_asks_the_engine(tmp_path: Path) -> None:
    generators = Generators(
        GenerationSettings(diffusion=DiffusionSettings(model=str(tmp_path / "none")))
    )
    assert generators.check("studio") == "studio"
    with pytest.raises(WeightsUnavailable):
        generators.check("diffusion")
    with pytest.raises(UnknownModel):
        generators.check("dall-e")


def test_an_api_node_checks_only_that_the_engine_is_known() -> None:
    # Its workers hold the engines: diffusion may be installed there and not here.
    assert KnownEngines().check("diffusion") == "diffusion"
    with pytest.raises(UnknownModel):
        KnownEngines().check("dall-e")
