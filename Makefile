# The two Quickstart commands: `make demo` and `make check`. Each creates the virtualenv it needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
# A developer checkout has ../shared beside it; a fresh clone has not, and the demo then fetches the models
# and sample videos from their public sources (or from ANONFLOW_MODEL_MIRROR / ANONFLOW_VIDEO_MIRROR).
ifneq ($(wildcard $(SHARED)/models),)
export ANONFLOW_MODEL_DIR ?= $(SHARED)/models
endif
ifneq ($(wildcard $(SHARED)/videos),)
export ANONFLOW_VIDEO_DIR ?= $(SHARED)/videos
endif
EXTRAS := edge,dataflow,infra,train,dev
DEMO_EXTRAS := edge,dataflow

.PHONY: demo check lint typecheck test system-deps infra-tools clean

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

# Everything `make check` tests.
$(BIN)/.installed: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(EXTRAS)]'
	touch $@

# Only what the demo runs: the edge chain and the Beam job (no CDK, no training or test libraries).
$(BIN)/.installed-demo: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(DEMO_EXTRAS)]'
	touch $@

demo: $(BIN)/.installed-demo
	$(BIN)/anonflow demo --output demo-out

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy anonflow bench

test: $(BIN)/.installed system-deps infra-tools
	$(BIN)/pytest

system-deps:
	@bash .ci/system-deps

# checkov (own venv: its pins clash with the project's) and the pinned CDK CLI from npm.
infra-tools: $(BIN)/.installed
	@bash infra/tools/install-tools.sh

check: lint typecheck test

clean:
	rm -rf $(VENV) .venv-tools infra/node_modules demo-out
