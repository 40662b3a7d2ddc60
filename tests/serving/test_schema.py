"""Schemathesis against a real server: every operation, all checks, with a working key.

The OpenAPI schema is the contract: every answer must match it (status, body, headers), valid
requests must not be refused as malformed and malformed ones must be refused. Bounded: a few
examples per operation, so it runs in minutes within `make test`.

One exception: on the two prompt operations, "a schema-valid request is accepted" is not
checked. Whether a prompt is acceptable (no control or format characters by Unicode category,
not blank once trimmed, textPrompt or styleImageUrl) is more than JSON Schema can say, and
those refusals are LightX's own 400/5041.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.servers import start_server

EXAMPLES = os.environ.get("BACKDROP_TEST_SCHEMATHESIS_EXAMPLES", "20")


def test_the_api_keeps_to_its_schema(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        # The run is a burst from one address and one key: limits stay out of its way.
        {
            "BACKDROP_RATE_LIMITS__REQUESTS": "1000/second",
            "BACKDROP_RATE_LIMITS__FAILED_AUTH": "100000/minute",
        },
    )
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    # Whether these accept a request depends on more than JSON Schema can say: a prompt's
    # characters; for remove.bg, that one of image_file, image_file_b64 and image_url holds
    # an image. Every other check runs on them too.
    prompts = "background-generator|product-photoshoot|removebg"
    common = [
        st,
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--header",
        f"x-api-key: {server.api_key}",
        "--generation-deterministic",
        "--no-color",
    ]
    runs = [
        [*common, "--exclude-path-regex", prompts],
        [*common, "--include-path-regex", prompts, "--exclude-checks", "positive_data_acceptance"],
    ]
    try:
        results = [
            subprocess.run(run, capture_output=True, text=True, timeout=900, cwd=tmp_path)
            for run in runs
        ]
    finally:
        server.stop()
    for result in results:
        assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
