# Two entry points for a fresh machine: `make run` (the app on the demo project) and `make test`.
# Both create .venv on first use: the pinned CPU torch first, so nothing pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= $(HOME)/.local/share/shrinkwise/demo

.PHONY: run test venv demo screenshots bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/shrinkwise gui --demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/shrinkwise demo --out $(DEMO_DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info
