# Two entry points for a fresh machine: `make run` (the app on the demo project) and `make test`.
# Both create .venv on first use: the pinned CPU torch first, so nothing pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= $(HOME)/.local/share/shrinkwise/demo

.PHONY: run test lint format venv demo screenshots bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

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

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.bench_techniques

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
	$(PKG_VENV)/bin/python -m pip install -q torch==2.13.0
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
