# The two Quickstart commands: `make demo` and `make check`. Each creates the virtualenv it needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
export ANONFLOW_MODEL_DIR ?= $(SHARED)/models
export ANONFLOW_VIDEO_DIR ?= $(SHARED)/videos
EXTRAS := edge,dataflow,infra,train,dev

.PHONY: demo check lint typecheck test system-deps infra-tools clean

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(EXTRAS)]'
	touch $@

demo: $(BIN)/.installed
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
