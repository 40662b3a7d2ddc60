"""Schemathesis against a real server: every operation, every check, several seeds.

The OpenAPI schema is the contract: every answer must match it (status, body, headers), valid
requests must not be refused as malformed and malformed ones must be refused. What JSON Schema
cannot say (whether bytes are an image; a model named but not installed) is left to the checks
in schemathesis_hooks.py, which schemathesis.toml lets through and those checks narrow again.

One run does the deterministic phases (examples, coverage: the schema's boundaries, most of
the time); then fuzzing and stateful runs for each seed. Bounded: a minute or so on two cores.
Environment: BACKDROP_TEST_SCHEMATHESIS_SEEDS (comma-separated) and
BACKDROP_TEST_SCHEMATHESIS_EXAMPLES (per operation and seed) widen a run by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.engines.tiny_onnx import write_tiny_model
from tests.servers import create_key, start_server

HERE = Path(__file__).parent
SEEDS = [int(s) for s in os.environ.get("BACKDROP_TEST_SCHEMATHESIS_SEEDS", "1,2,3").split(",")]
EXAMPLES = os.environ.get("BACKDROP_TEST_SCHEMATHESIS_EXAMPLES", "10")


def test_the_api_keeps_to_its_schema(tmp_path: Path) -> None:
    # A tiny model as the default (a real order takes milliseconds) and none of the built-in
    # models installed: naming one is answered 503 MODEL_UNAVAILABLE, as documented.
    models = tmp_path / "models"
    models.mkdir()
    tiny = write_tiny_model(models / "tiny.onnx", 320)
    (models / "models.json").write_text(
        json.dumps({"tiny": {"preset": "u2net", "path": str(tiny)}})
    )
    server = start_server(
        tmp_path / "data",
        {
            "BACKDROP_MODELS_DIR": str(models),
            "BACKDROP_SEGMENTATION_MODEL": "tiny",
            # The run is a burst from one address and one key: limits stay out of its way
            # (a request refused 429 tests nothing).
            "BACKDROP_RATE_LIMITS__REQUESTS": "100000/second",
            "BACKDROP_RATE_LIMITS__ORDERS": "100000/minute",
            "BACKDROP_RATE_LIMITS__FAILED_AUTH": "100000/minute",
        },
    )
    # Enough credits for every order the run makes (a refused 402 tests nothing either).
    key = create_key(server, 100_000)
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    common = [
        st,
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"x-api-key: {key}",
        "--continue-on-failure",
        "--no-color",
    ]
    runs = [
        [*common, "--phases", "examples,coverage", "--generation-deterministic"],
        *(
            [*common, "--phases", "fuzzing,stateful", "--max-examples", EXAMPLES, "--seed", str(s)]
            for s in SEEDS
        ),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")}
    try:
        results = [
            subprocess.run(run, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
            for run in runs
        ]
    finally:
        server.stop()
    for run, result in zip(runs, results, strict=True):
        assert result.returncode == 0, (
            " ".join(run[run.index("--phases") :])
            + "\n"
            + result.stdout[-20000:]
            + result.stderr[-5000:]
        )
