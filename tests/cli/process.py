"""Running `backdrop` as a user does: a real process with its own data dir and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_backdrop(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backdrop.cli", *args],
        env={**os.environ, "BACKDROP_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
