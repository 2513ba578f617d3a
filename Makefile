# Two entry points for a fresh machine: `make run` (the app on the demo project) and `make test`.
# Both create .venv on first use: the pinned torch first, so nothing pulls a multi-GB CUDA build by accident.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= $(HOME)/.local/share/shrinkwise/demo

# Torch: on Linux without an NVIDIA GPU (no nvidia-smi) the CPU build from torch's own index (~200 MB instead of
# PyPI's CUDA build plus several GB of NVIDIA libraries). With a GPU, or on macOS/Windows, plain PyPI.
# `make TORCH_INDEX_URL=` forces plain PyPI; any other URL replaces the CPU index. If the index cannot be reached
# the install falls back to PyPI at once (no retries, a short timeout), so an offline mirror still works.
TORCH_VERSION ?= 2.13.0
ifeq ($(shell uname -s 2>/dev/null)-$(shell command -v nvidia-smi 2>/dev/null),Linux-)
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
else
TORCH_INDEX_URL ?=
endif
TORCH_INDEX_TIMEOUT ?= 15

# $(call install_torch,PYTHON): the pinned torch from TORCH_INDEX_URL, else from the default index.
define install_torch
	@if [ -n "$(TORCH_INDEX_URL)" ]; then \
		echo "torch $(TORCH_VERSION) from $(TORCH_INDEX_URL)"; \
		$(1) -m pip install -q --timeout $(TORCH_INDEX_TIMEOUT) --retries 0 --index-url "$(TORCH_INDEX_URL)" \
			torch==$(TORCH_VERSION) \
		|| { echo "$(TORCH_INDEX_URL) unreachable or without torch $(TORCH_VERSION): installing it from the default index"; \
			$(1) -m pip install -q torch==$(TORCH_VERSION); }; \
	else \
		echo "torch $(TORCH_VERSION) from the default index"; \
		$(1) -m pip install -q torch==$(TORCH_VERSION); \
	fi
endef

.PHONY: run test lint format venv shell demo screenshots bench clean

venv: $(STAMP)
	@echo "ready: 'source $(VENV)/bin/activate' (or 'make shell') puts the shrinkwise command on your PATH"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(call install_torch,$(BIN)/python)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)
	@echo "installed; 'source $(VENV)/bin/activate' (or 'make shell') puts the shrinkwise command on your PATH"

# A shell with .venv active (PATH and VIRTUAL_ENV set); `exit` returns to the one you came from.
shell: $(STAMP)
	@echo "shell with $(VENV) active; 'exit' to leave"
	@VIRTUAL_ENV="$(abspath $(VENV))" PATH="$(abspath $(BIN)):$$PATH" $${SHELL:-/bin/sh} -i

run: $(STAMP)
	$(BIN)/shrinkwise gui --demo

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# ruff (lint + format check), mypy on advisor/ and workspace/, and the import-linter layer contracts.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)
	$(BIN)/shrinkwise demo --out $(DEMO_DIR)

# bench_autopilot includes NNCF when it is installed (`$(BIN)/pip install nncf`), else it says it skipped it.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.bench_techniques
	$(BIN)/python -m bench.bench_autopilot

clean:
	rm -rf $(VENV) build dist *.egg-info

# --- Packaging (packaging/README.md) -----------------------------------------------------------------------------
# `make package`: a one-folder desktop bundle in dist/shrinkwise/, built by PyInstaller from a separate build venv
# (build/pkg-venv: the pinned CPU torch first, then the project NON-editable, then PyInstaller), never from .venv.
# `make package-smoke` runs the bundle's smoke checks (no Python on PATH); `make install-desktop` adds the menu entry, icon and
# *.shrinkwise.json file type to ~/.local/share (pointing at dist/shrinkwise/shrinkwise if built, else `shrinkwise`).
PKG_VENV := build/pkg-venv
PKG_STAMP := $(PKG_VENV)/.pkg-stamp

.PHONY: package package-smoke install-desktop

$(PKG_STAMP): pyproject.toml
	test -x $(PKG_VENV)/bin/python || $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip install -q --upgrade pip
	$(call install_torch,$(PKG_VENV)/bin/python)
	$(PKG_VENV)/bin/python -m pip install -q . 'pyinstaller>=6.10'
	touch $(PKG_STAMP)

package: $(PKG_STAMP)
	rm -rf build/lib build/bdist.*
	$(PKG_VENV)/bin/python -m pip install -q --no-deps --force-reinstall .
	nice -n 10 $(PKG_VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/shrinkwise.spec
	du -sh dist/shrinkwise

package-smoke:
	packaging/smoke.sh dist/shrinkwise/shrinkwise

install-desktop:
	packaging/linux/install.sh

# A PNG of every wizard page on the demo project (offscreen, real runs): docs/screenshots/ (used by the README).
SCREENSHOTS_DIR ?= docs/screenshots
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py --out $(SCREENSHOTS_DIR)
