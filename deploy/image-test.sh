#!/usr/bin/env bash
# Builds the CPU image and drives LightX's flow against a container of it, on a machine where
# official images cannot be pulled and `docker run` / `podman run` do not work, but buildah does.
#
#   sudo deploy/image-test.sh [OUT_DIR]
#
# 1. A stand-in for python:3.11-slim-bookworm (deploy/standin-base.sh: debootstrap + podman
#    import), cached under the key of that script's hash.
# 2. `buildah bud` of ./Dockerfile with BASE set to it (vfs storage, chroot isolation, layers
#    and the Dockerfile's pip/model cache mounts kept between runs).
# 3. `backdrop keys create`, then `backdrop serve` from the image (`buildah run --network
#    host`, BACKDROP_HOST/PORT/DATA_DIR given as a container would get them) on a free port;
#    the time from start to /health answering 200; deploy/smoke_flow.py's upload -> presigned
#    PUT -> order -> poll against it; SIGTERM to the server and its exit status.
#
# Everything lasting lives in BACKDROP_IMAGE_TEST_CACHE (default ~/.cache/backdrop/image-test).
# The last line printed is `RESULT {json}`; OUT_DIR (default: a new temporary folder) keeps the
# logs, the image's configuration (image.json) and the flow's result (flow.json).
# Needs root, buildah, podman and debootstrap (Debian packages), and python3 with httpx and
# Pillow for the flow (PYTHON=...; the project's venv has them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cache=${BACKDROP_IMAGE_TEST_CACHE:-$HOME/.cache/backdrop/image-test}
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/backdrop-image-test.XXXXXX")}
python=${PYTHON:-python3}
image=localhost/backdrop:image-test
health_timeout=${HEALTH_TIMEOUT:-300}

say() { printf '[image-test] %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 2))"; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot isolation)"; exit 3; }
for tool in buildah podman debootstrap; do
    command -v "$tool" >/dev/null \
        || { say "$tool is missing: apt-get install buildah podman debootstrap"; exit 3; }
done
# overlay shares unchanged files between layers; vfs (BACKDROP_IMAGE_TEST_DRIVER=vfs) works
# where overlay mounts do not, at a full copy of the tree per layer (~2 GB each here).
driver=${BACKDROP_IMAGE_TEST_DRIVER:-overlay}
storage=$cache/storage-$driver
mkdir -p "$cache/tmp" "$out"
store=(--root "$storage" --storage-driver "$driver")
# Layers of earlier builds accumulate (~1.5 GB per change of src/): past this size the
# storage starts afresh (the stand-in base, the pip and model caches are kept).
max_storage_kb=$(( ${BACKDROP_IMAGE_TEST_MAX_GB:-20} * 1024 * 1024 ))
if [ -d "$storage" ] && [ "$(du -sk "$storage" | cut -f1)" -gt "$max_storage_kb" ]; then
    say "image storage over ${BACKDROP_IMAGE_TEST_MAX_GB:-20} GB: dropping its cached layers"
    buildah "${store[@]}" rm --all >/dev/null 2>&1 || true
    for id in $(buildah "${store[@]}" images --noheading --format '{{.ID}} {{.Name}}' \
                | awk '$2 !~ /backdrop-standin/ {print $1}'); do
        buildah "${store[@]}" rmi --force "$id" >/dev/null 2>&1 || true
    done
fi
# buildah keeps RUN --mount=type=cache folders under TMPDIR: the pip cache and the models.
export TMPDIR=$cache/tmp

# 1. The stand-in base.
base=localhost/backdrop-standin:$(sha256sum "$here/standin-base.sh" | cut -c1-12)
base_seconds=0
if ! podman "${store[@]}" image exists "$base"; then
    say "building the stand-in base $base (debootstrap, a few minutes, once)"
    t=$(now)
    "$here/standin-base.sh" "$storage" "$base" "$driver"
    base_seconds=$(since "$t")
fi

# 2. The image.
say "building $image"
t=$(now)
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
buildah "${store[@]}" bud --isolation chroot --layers --format docker --pull=never \
    --build-arg "BASE=$base" --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -t "$image" -f "$repo/Dockerfile" "$repo" >"$out/build.log" 2>&1 \
    || { tail -n 40 "$out/build.log" >&2; exit 1; }
build_seconds=$(since "$t")
buildah "${store[@]}" inspect --type image "$image" >"$out/image.json"
image_bytes=$(podman "${store[@]}" image inspect --format '{{.Size}}' "$image")
base_bytes=$(podman "${store[@]}" image inspect --format '{{.Size}}' "$base")

# 3. A container of it.
ctr=$(buildah "${store[@]}" from --pull=never --name "backdrop-image-test-$$" "$image")
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    buildah "${store[@]}" rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A data dir on the host, so the test sees that BACKDROP_DATA_DIR is the one used.
mkdir -p "$out/data"
chown 10001:10001 "$out/data"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run=(buildah "${store[@]}" run --isolation chroot --network host
     --volume "$out/data:/srv/backdrop-data"
     --env BACKDROP_HOST=127.0.0.1 --env "BACKDROP_PORT=$port"
     --env BACKDROP_DATA_DIR=/srv/backdrop-data "$ctr" --)

# What the image holds, read in a network namespace of its own (no network at all: chroot
# isolation only runs with the host's, so the host's is an empty one here): the weights
# listed as installed by `backdrop models list`, and no Node/npm left behind.
unshare --net buildah "${store[@]}" run --isolation chroot --network host "$ctr" -- \
    sh -c 'ls /opt/backdrop/models; ls /opt; id -un' >"$out/contents.txt" 2>&1
unshare --net buildah "${store[@]}" run --isolation chroot --network host "$ctr" -- \
    backdrop models list >"$out/models-list.txt" 2>&1

key=$("${run[@]}" backdrop keys create --credits 10 --name image-test 2>"$out/keys.log" | tail -n 1)
[ -n "$key" ] || { cat "$out/keys.log" >&2; exit 1; }

say "starting backdrop serve on 127.0.0.1:$port"
t=$(now)
"${run[@]}" backdrop serve >"$out/serve.log" 2>&1 &
server_pid=$!
cold_start=
deadline=$(( $(date +%s) + health_timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        say "the server exited before answering /health"; tail -n 40 "$out/serve.log" >&2; exit 1
    fi
    if python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health', timeout=2)" 2>/dev/null; then
        cold_start=$(since "$t")
        break
    fi
    sleep 0.25
done
[ -n "$cold_start" ] || { say "no /health within ${health_timeout}s"; tail -n 40 "$out/serve.log" >&2; exit 1; }

say "driving LightX's flow"
flow_rc=0
"$python" "$here/smoke_flow.py" --base "http://127.0.0.1:$port" --key "$key" >"$out/flow.json" \
    2>"$out/flow.log" || flow_rc=$?

# SIGTERM to the process in the container, as `docker stop` sends it to PID 1. buildah run
# does not forward signals, so the signal goes to the server process itself: the Python
# process under `buildah run` running `backdrop serve`.
backdrop_pid=$(python3 - "$server_pid" <<'EOF'
import os, sys
children = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    ppid = int(stat.rsplit(")", 1)[1].split()[1])
    children.setdefault(ppid, []).append((int(pid), cmd))
todo = [int(sys.argv[1])]
while todo:
    for pid, cmd in children.get(todo.pop(), []):
        # The interpreter itself, not buildah's chroot helpers whose arguments name it.
        if b"python" in cmd[0] and cmd[1:3] == [b"/opt/backdrop/venv/bin/backdrop", b"serve"]:
            print(pid)
            sys.exit(0)
        todo.append(pid)
sys.exit(1)
EOF
) || { say "cannot find the server process"; exit 1; }
t=$(now)
kill -TERM "$backdrop_pid"
exit_rc=0
wait "$server_pid" || exit_rc=$?
stop_seconds=$(since "$t")
server_pid=

database_created=false
[ -f "$out/data/backdrop.db" ] && database_created=true

python3 - "$out" <<EOF
import json, sys
out = sys.argv[1]
try:
    flow = json.load(open(f"{out}/flow.json"))
except ValueError:
    flow = None
print("RESULT " + json.dumps({
    "image": "$image", "image_bytes": $image_bytes, "base_bytes": $base_bytes,
    "base_build_seconds": $base_seconds, "build_seconds": $build_seconds,
    "cold_start_seconds": $cold_start, "flow": flow, "flow_exit": $flow_rc,
    "sigterm_exit": $exit_rc, "stop_seconds": $stop_seconds,
    "database_in_data_dir": $( [ "$database_created" = true ] && echo True || echo False ),
    "out": out,
}))
EOF
