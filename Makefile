# Spaces orchestrator - common tasks. `make install` is idempotent and cheap once done.
#   make install   set up the machine: packages, podman socket, .venv, runtime images
#   make up        install, then run the control plane (.venv/bin/spaces serve)
#   make test      install, then run the test suite
#   make lint      ruff + mypy
#   make images    (re)build the runtime base images only; GRADIO=5.49.1 adds a Gradio image
#   make fastpath  (re)compile the proxy's hot modules with mypyc (install does it when stale)
# INSTALL_FLAGS=--no-containers skips podman and the images (process runtime only).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
INSTALL_FLAGS ?=
PYTEST_FLAGS ?=
GRADIO ?=

.PHONY: install up test lint images fastpath

install:
	scripts/install.sh $(INSTALL_FLAGS)

up: install
	exec $(VENV)/bin/spaces serve

test: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -rR --reruns 1 $(PYTEST_FLAGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy orchestrator builders

images:
	runtime-images/build.sh $(if $(GRADIO),--gradio $(GRADIO))

fastpath:
	$(VENV)/bin/python -c 'from orchestrator.proxy.compiled import main; main()'
