#!/usr/bin/env bash
# Builds a stand-in for python:3.11-slim-bookworm with debootstrap and imports it with podman,
# for machines that cannot pull official images (deploy/image-test.sh uses it as BASE).
#
#   deploy/standin-base.sh STORAGE_ROOT IMAGE_NAME [STORAGE_DRIVER]
#
# Debian bookworm with CPython 3.11 in /usr/local as in the official image (`python`, `pip`,
# venv, no EXTERNALLY-MANAGED marker), and this machine's CA bundle with pip, requests, Node and
# OpenSSL pointed at it, so the package registries answer through the host's TLS-inspecting
# network exactly as they do on the host.
#
# The interpreter is this machine's CPython 3.11 build (pyenv's, STANDIN_PYTHON to name
# another prefix), copied in: Debian's own python3.11 is 3.11.2, older than any official
# 3.11 image, and lacks tarfile's extraction filters (3.11.4) that `backdrop models fetch`
# uses. Without such a build, Debian's python3.11 is used and says so.
set -euo pipefail

root=${1:?storage root}
image=${2:?image name}
driver=${3:-vfs}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca=/etc/ssl/certs/ca-certificates.crt

work=$(mktemp -d "${TMPDIR:-/tmp}/backdrop-standin.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

python_prefix=${STANDIN_PYTHON:-}
if [ -z "$python_prefix" ]; then
    python_prefix=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11.* 2>/dev/null | sort -V | tail -n 1 || true)
fi
# The shared libraries the official image's CPython links against.
libraries=ca-certificates,libgomp1,libssl3,libsqlite3-0,libffi8,zlib1g,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libexpat1,libuuid1,libgdbm6,libnsl2,libtirpc3
if [ -z "$python_prefix" ] || [ ! -x "$python_prefix/bin/python3.11" ]; then
    echo "standin-base: no CPython 3.11 build found; using Debian's python3.11 (3.11.2)" >&2
    python_prefix=
    libraries=$libraries,python3.11,python3.11-venv,python3-pip
fi

debootstrap --variant=minbase --include="$libraries" \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

if [ -n "$python_prefix" ]; then
    # The interpreter, its library and its standard library; not its site-packages (pip is
    # bootstrapped fresh below) nor the test suite and GUI modules.
    cp -a "$python_prefix/bin/python3.11" "$rootfs/usr/local/bin/"
    cp -a "$python_prefix"/lib/libpython3.11.so* "$rootfs/usr/local/lib/"
    tar -C "$python_prefix/lib" --exclude=python3.11/site-packages --exclude=python3.11/test \
        --exclude=python3.11/idlelib --exclude=python3.11/tkinter --exclude='__pycache__' \
        -cf - python3.11 | tar -C "$rootfs/usr/local/lib" -xf -
    mkdir -p "$rootfs/usr/local/lib/python3.11/site-packages"
    chroot "$rootfs" /sbin/ldconfig
    chroot "$rootfs" /usr/local/bin/python3.11 -m ensurepip --default-pip >"$work/pip.log" 2>&1 \
        || { cat "$work/pip.log" >&2; exit 1; }
    ln -sf python3.11 "$rootfs/usr/local/bin/python3"
    ln -sf python3.11 "$rootfs/usr/local/bin/python"
    ln -sf pip3.11 "$rootfs/usr/local/bin/pip"
    ln -sf pip3.11 "$rootfs/usr/local/bin/pip3"
else
    # As in the official image: pip may install into the system interpreter.
    rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
    ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python3"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
fi
chroot "$rootfs" python -c "import ssl, sqlite3, ctypes, zlib, bz2, lzma, venv"
# The host's bundle includes the CA of the network's TLS inspection.
cp "$ca" "$rootfs$ca"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin

tar -C "$rootfs" --numeric-owner -cf - . | podman --root "$root" --storage-driver "$driver" import \
    --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV SSL_CERT_FILE=$ca" \
    --change "ENV PIP_CERT=$ca" \
    --change "ENV REQUESTS_CA_BUNDLE=$ca" \
    --change "ENV CURL_CA_BUNDLE=$ca" \
    --change "ENV NODE_EXTRA_CA_CERTS=$ca" \
    --change "ENV PIP_DEFAULT_TIMEOUT=180" \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
