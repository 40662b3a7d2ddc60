#!/usr/bin/env bash
# Builds a stand-in for python:3.11-slim-bookworm with debootstrap and imports it with podman,
# for machines that cannot pull official images (deploy/image-test.sh uses it as BASE).
#
#   deploy/standin-base.sh STORAGE_ROOT IMAGE_NAME
#
# Debian bookworm, python3.11 with venv and pip, `python`/`pip` on PATH, no EXTERNALLY-MANAGED
# marker (pip installs as in the official image), and this machine's CA bundle with pip,
# requests, Node and OpenSSL pointed at it, so the package registries answer through the host's
# TLS-inspecting network exactly as they do on the host.
set -euo pipefail

root=${1:?storage root}
image=${2:?image name}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca=/etc/ssl/certs/ca-certificates.crt

work=$(mktemp -d "${TMPDIR:-/tmp}/backdrop-standin.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

debootstrap --variant=minbase \
    --include=python3.11,python3.11-venv,python3-pip,ca-certificates,libgomp1 \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# As in the official image: pip may install into the system interpreter.
rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python3"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
# The host's bundle includes the CA of the network's TLS inspection.
cp "$ca" "$rootfs$ca"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin

tar -C "$rootfs" --numeric-owner -cf - . | podman --root "$root" --storage-driver vfs import \
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
