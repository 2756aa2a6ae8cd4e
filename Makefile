# Two commands for a fresh clone:  `make lab` (open the course) and `make test` (run every check).
# Each sets up .venv first if it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU wheel of PyTorch. Elsewhere, add TORCH_FLAGS="--index-url https://download.pytorch.org/whl/cpu"
# to fetch a small CPU-only build instead of the default CUDA one.
TORCH       ?= torch==2.13.0
TORCH_FLAGS ?=
# JupyterLab refuses to run as root (containers, CI machines) unless told it may.
LAB_FLAGS   ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-fast execute site site-html bench bundle clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_FLAGS) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[lab,test,site]"
	# verl's and OpenRLHF's pinned wheels (2 MB), read by the trainer-fact tests; never imported.
	$(BIN)/python scripts/trainer_sources.py fetch
	touch $(STAMP)

lab: setup  ## open the course in JupyterLab
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

test: setup  ## unit + property tests, strict nbval over every notebook, offline site check, browser tests
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

test-fast: setup  ## the edit loop: unit, property, contract and parity tests; no training, browser, site or notebook
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests -m "not slow" -o addopts="" -p no:nbval \
		-p no:cacheprovider -n 2 --dist loadfile --durations=10

execute: setup  ## re-execute every notebook in place, top to bottom, in a fresh kernel
	$(BIN)/python scripts/execute_notebooks.py

site: setup  ## live preview of the site (downloads the book-theme once)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/myst start

site-html: setup  ## the static HTML site in _build/html
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/myst build --html

bundle:  ## rebuild the explorers (kl_lessons/web/*.js) from kl_lessons/web/src with the pinned esbuild
	npm ci --no-audit --no-fund
	npm run bundle

bench: setup  ## timings of notebooks, sliders and library hot paths
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) _build
