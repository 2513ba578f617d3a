"""Export page: the device's benchmark results come back into the project as 'measured on the device'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shrinkwise.gui import dialogs
from shrinkwise.workspace.bundle import make_bundle
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.runs import run_recipe
from shrinkwise.workspace.session import Session
from tests.gui.conftest import open_and_wait, wait_idle


def test_import_device_results_from_the_export_page(
    qtbot: Any, window: Any, demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = Session.open(demo_project)
    exp = run_recipe(session, ["fp16"])
    folder = make_bundle(session, exp.id, tmp_path / "bundle", samples=8)
    proc = subprocess.run(
        [
            sys.executable,
            "run_benchmark.py",
            "--device-name",
            "bench board",
            "--repeats",
            "20",
            "--rounds",
            "2",
            "--warmup",
            "2",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    results = folder / "results.json"

    open_and_wait(qtbot, window, demo_project)
    monkeypatch.setattr(dialogs, "choose_open_path", lambda *a, **k: str(results))
    window.import_device_results()
    wait_idle(qtbot, window)

    assert any("Device results" in what for what, _ in window.export_page.written)
    saved = load_project(demo_project).experiment(exp.id)
    device = [m for m in saved.measurements if m.source == "device"]
    assert any(m.metric == "latency_ms_median" and m.value > 0 for m in device)
    assert all(m.details["device"] == "bench board" for m in device)


def test_a_results_file_for_another_model_is_refused_in_the_window(
    qtbot: Any, window: Any, demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialog_log: Any
) -> None:
    bogus = tmp_path / "results.json"
    bogus.write_text('{"not": "a results file"}')
    open_and_wait(qtbot, window, demo_project)
    before = demo_project.read_bytes()
    monkeypatch.setattr(dialogs, "choose_open_path", lambda *a, **k: str(bogus))
    window.import_device_results()
    wait_idle(qtbot, window)
    errors = [d for d in dialog_log.shown if d["kind"] == "message"]
    assert errors and "results.json" in errors[-1]["text"] and "\n" not in errors[-1]["text"]
    assert demo_project.read_bytes() == before
