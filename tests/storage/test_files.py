"""Files written by the CLI, the SDK and the store get the mode a plain write would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from backdrop.common.files import new_file_mode, write_atomically


def test_written_files_follow_the_umask_not_mkstemp(tmp_path: Path) -> None:
    target = tmp_path / "out" / "photo.png"
    write_atomically(target, b"bytes")
    plain = tmp_path / "plain.png"
    plain.write_bytes(b"bytes")
    assert target.read_bytes() == b"bytes"
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == new_file_mode()
    current = os.umask(0o022)
    os.umask(current)
    assert mode == 0o666 & ~current
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
