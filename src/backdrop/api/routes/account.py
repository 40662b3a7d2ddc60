"""The calling key's account: its balance, and the models (and qualities) it can use."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backdrop.api import examples, tags
from backdrop.api.deps import KeyDep, ServicesDep
from backdrop.api.envelope import success
from backdrop.api.responses import AccountBody, Envelope, ModelsBody

router = APIRouter(prefix="/external/api/v1", tags=[tags.ACCOUNT])


@router.get(
    "/account",
    response_model=Envelope[AccountBody],
    summary="The calling key's credit balance",
    responses=examples.ACCOUNT,
)
def account(key: KeyDep) -> dict[str, Any]:
    return success({"credits": key.credits})


@router.get(
    "/models",
    response_model=Envelope[ModelsBody],
    summary="Installed segmentation models and the model for each quality (beyond LightX)",
    description="The `model` to send to remove-background for each quality this server can "
    "run now: `fast`, `balanced` (the default model) and `best`, each present only when its "
    "model is installed. On a scale-out API node, `installed` is the catalogue its workers "
    "share.",
    responses=examples.MODELS,
)
def models(key: KeyDep, services: ServicesDep) -> dict[str, Any]:
    listing = services.models
    return success(
        {
            "defaultModel": listing.default_model,
            "installed": listing.installed(),
            "qualities": listing.qualities(),
        }
    )
