"""Object keys: the one validator every storage backend shares."""

from __future__ import annotations

import re

from backdrop.errors import ImageNotFound

# Two path segments of safe characters, e.g. "uploads/3f2a...c1.jpg" or "results/ab12.mask.png".
_KEY = re.compile(r"^[a-z]+/[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def validate_key(key: str) -> str:
    """Return `key` if it is a well-formed object key; refuse traversal and odd characters."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise ImageNotFound(f"no such image: {key!r}")
    return key
