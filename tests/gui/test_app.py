"""Starting the app: `--demo` opens the demo project (built into the user data folder on first use)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import WAIT_MS


def test_start_with_demo_opens_the_demo(
    qtbot: Any, demo_source: Path, tmp_path: Path, monkeypatch: Any, settings: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import app as app_module
    from shrinkwise.gui import main_window

    folder = tmp_path / "demo"
    shutil.copytree(demo_source.parent, folder)
    monkeypatch.setattr(main_window, "demo_dir", lambda: folder)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # start() installs its own; restored afterwards
    window = app_module.start(demo=True, settings=settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=WAIT_MS)
    assert window.session.project.name == "Digits demo"
    assert window.profile_view.proxy.rowCount() == 12
    assert QApplication.organizationName() == "Shrinkwise"
    assert window.recent_projects()[0] == (folder / demo_source.name).resolve()


def test_start_builds_the_demo_on_first_use(
    qtbot: Any, tmp_path: Path, monkeypatch: Any, settings: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import app as app_module
    from shrinkwise.gui import main_window, workers

    folder = tmp_path / "fresh-demo"
    monkeypatch.setattr(main_window, "demo_dir", lambda: folder)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    workers.CALLS.clear()
    window = app_module.start(demo=True, settings=settings)
    qtbot.addWidget(window)
    assert window.busy and "demo" in window.busy_label.text()
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=WAIT_MS)
    assert (folder / "digits-demo.shrinkwise.json").exists()
    assert [c.name for c in workers.CALLS] == ["_build_demo"]
    assert not dialog_log.errors()


def test_module_entry_parses_arguments(monkeypatch: Any) -> None:
    import shrinkwise.gui.__main__ as entry

    seen: dict[str, Any] = {}
    monkeypatch.setattr(entry, "run_app", lambda **kw: seen.update(kw) or 0)
    assert entry.main(["some.shrinkwise.json"]) == 0
    assert seen == {"project": Path("some.shrinkwise.json"), "demo": False}
    assert entry.main(["--demo"]) == 0 and seen["demo"] is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is Linux-only")
def test_no_display_gives_one_line_instead_of_a_qt_abort(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "shrinkwise.workspace.cli", "gui", "--demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("shrinkwise: error:") and "no display" in err and "\n" not in err
