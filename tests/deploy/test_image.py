"""The CPU image, built from ./Dockerfile on a stand-in base and run as a container would be:
LightX's flow against `backdrop serve` from it, then SIGTERM (deploy/image-test.sh).

Minutes: the first run builds the stand-in base and derives the int8 graph (cached under
~/.cache/backdrop/image-test for later runs). Needs root and buildah, podman, debootstrap
(`make test` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.deploy.tools import DEPLOY

pytestmark = pytest.mark.image

SCRIPT = DEPLOY / "image-test.sh"
TIMEOUT_SECONDS = 20 * 60


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.geteuid() != 0:
        pytest.skip("the image test needs root (debootstrap, buildah's chroot isolation)")
    missing = [name for name in ("buildah", "podman", "debootstrap") if not shutil.which(name)]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: apt-get install buildah podman debootstrap")
    out = tmp_path_factory.mktemp("image")
    start = time.monotonic()
    result = subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    summary: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    summary["test_seconds"] = time.monotonic() - start
    summary["config"] = json.loads((out / "image.json").read_text())["Docker"]["config"]
    summary["contents"] = (out / "contents.txt").read_text().split()
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}))
    return summary


def test_lightx_flow_against_the_container(image_run: dict[str, Any]) -> None:
    flow = image_run["flow"]
    assert image_run["flow_exit"] == 0, flow
    assert flow["status"] == "active"
    assert flow["output_status"] == 200 and flow["mask_status"] == 200
    assert flow["output_size"] == [640, 480]


def test_the_server_takes_its_settings_from_the_environment(image_run: dict[str, Any]) -> None:
    # BACKDROP_DATA_DIR pointed at a host folder: the database is there.
    assert image_run["database_in_data_dir"]
    assert image_run["cold_start_seconds"] > 0


def test_sigterm_stops_the_server_with_status_0(image_run: dict[str, Any]) -> None:
    assert image_run["sigterm_exit"] == 0
    assert image_run["stop_seconds"] < 40


def test_the_image_holds_the_weights_and_runs_as_a_user(image_run: dict[str, Any]) -> None:
    contents = image_run["contents"]
    assert "isnet-general-fp32.onnx" in contents
    assert "isnet-general-int8-nncf.onnx" in contents
    assert "node" not in contents, "Node/npm is for the build stage only"
    assert contents[-1] == "backdrop"


def test_the_image_configuration(image_run: dict[str, Any]) -> None:
    config = image_run["config"]
    assert config["User"] == "backdrop"
    assert config["Entrypoint"] == ["backdrop"] and config["Cmd"] == ["serve"]
    assert config["StopSignal"] == "SIGTERM"
    assert "/data" in config["Volumes"]
    assert "8000/tcp" in config["ExposedPorts"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["BACKDROP_HOST"] == "0.0.0.0" and env["BACKDROP_DATA_DIR"] == "/data"
    assert env["BACKDROP_MODELS_DIR"] == "/opt/backdrop/models"
    health = config["Healthcheck"]["Test"]
    assert health[0] == "CMD" and "/health" in " ".join(health)
    labels = config["Labels"]
    for name in ("title", "version", "revision", "licenses", "created"):
        assert labels[f"org.opencontainers.image.{name}"], name
