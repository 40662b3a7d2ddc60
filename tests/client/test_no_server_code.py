"""The SDK can be vendored without the server: importing it loads no server module."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_client_package_imports_no_server_code() -> None:
    script = (
        "import json, sys, backdrop.client; "
        "[getattr(backdrop.client, name) for name in backdrop.client.__all__]; "
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


def test_the_client_package_loads_its_modules_on_first_use() -> None:
    """`import backdrop.client` alone loads no HTTP library (the CLI's local path imports its
    errors); every public name still resolves, and an unknown one is an AttributeError."""
    script = (
        "import sys, backdrop.client.errors; assert 'httpx' not in sys.modules, 'httpx'; "
        "from backdrop.client import Client, AsyncClient, OrderFailed; "
        "assert Client.__module__ == 'backdrop.client.sync' and 'httpx' in sys.modules; "
        "import backdrop.client as c; assert sorted(dir(c)) == sorted(c.__all__); "
        "getattr(c, 'Nothing', None) is None or sys.exit('unknown name resolved')"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
