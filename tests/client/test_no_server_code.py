"""The SDK can be vendored without the server: importing it loads no server module."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_client_package_imports_no_server_code() -> None:
    script = (
        "import json, sys, backdrop.client; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('backdrop.'))))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
    )
    assert loaded and all(m.startswith(("backdrop.client", "backdrop.common")) for m in loaded), (
        loaded
    )
