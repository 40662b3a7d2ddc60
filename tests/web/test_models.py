"""GET /external/api/v1/models: what the page offers as qualities is what the server can run."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backdrop.engines.derive import QUALITY_VARIANTS, model_for_quality
from backdrop.engines.model_install import is_installed
from backdrop.engines.segmenters import KnownModels
from backdrop.serving.node import EmbeddedNode


def test_models_lists_installed_models_and_the_model_of_each_quality(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    answer = client.get("/external/api/v1/models", headers={"x-api-key": api_key})
    assert answer.status_code == 200
    body = answer.json()["body"]
    catalog = runtime.segmenters.catalog
    models_dir = runtime.settings.models_dir
    default = runtime.settings.segmentation_model
    assert body["defaultModel"] == default
    assert body["installed"] == [
        model_id for model_id, model in catalog.items() if is_installed(model, models_dir)
    ]
    # Balanced is the default model, always installed (a node without it does not start);
    # every other quality is there exactly when its model is installed.
    assert body["qualities"]["balanced"] == default
    for quality in QUALITY_VARIANTS:
        model_id = model_for_quality(default, quality)
        assert (body["qualities"].get(quality) == model_id) == (model_id in body["installed"])
    # What `make run` installs: the best quality is the mirror model, not the multiscale one.
    assert body["qualities"].get("best") in (None, "isnet-general-mirror")
    # Every quality it lists is one the server accepts as a model.
    for model_id in body["qualities"].values():
        assert runtime.segmenters.check(model_id) == model_id


def test_models_needs_a_key(client: TestClient) -> None:
    answer = client.get("/external/api/v1/models")
    assert answer.status_code == 403 and answer.json()["message"] == "INVALID_API_KEY"


def test_models_on_a_scale_out_node_is_the_shared_catalogue(runtime: EmbeddedNode) -> None:
    known = KnownModels(runtime.segmenters.catalog, "isnet-general")
    assert known.default_model == "isnet-general"
    assert known.installed() == list(runtime.segmenters.catalog)
    assert known.qualities() == {
        "fast": "isnet-general-int8",
        "balanced": "isnet-general",
        "best": "isnet-general-mirror",
    }
