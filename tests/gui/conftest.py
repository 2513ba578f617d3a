"""GUI fixtures: one demo project per test session, a throw-away QSettings file, and modal dialogs captured
instead of shown (offscreen, a modal dialog would block the test forever)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QDialog, QMessageBox  # noqa: E402

from shrinkwise.gui import dialogs  # noqa: E402

WAIT_MS = 30_000


@dataclass
class DialogLog:
    """Every modal dialog the code tried to show, and what the 'user' answers."""

    shown: list[dict[str, Any]] = field(default_factory=list)
    answer: Any = QMessageBox.StandardButton.Discard
    dialog_answer: int = QDialog.DialogCode.Rejected.value
    on_dialog: Any = None

    def errors(self) -> list[dict[str, Any]]:
        return [
            d
            for d in self.shown
            if d["kind"] == "message" and d["icon"] in (QMessageBox.Icon.Warning, QMessageBox.Icon.Critical)
        ]


@pytest.fixture
def dialog_log(monkeypatch: pytest.MonkeyPatch) -> DialogLog:
    log = DialogLog()

    def fake_exec(dialog: QDialog) -> Any:
        if isinstance(dialog, QMessageBox):
            log.shown.append(
                {
                    "kind": "message",
                    "icon": dialog.icon(),
                    "title": dialog.windowTitle(),
                    "text": dialog.text(),
                    "details": dialog.detailedText(),
                }
            )
            return log.answer
        log.shown.append({"kind": "dialog", "title": dialog.windowTitle(), "widget": dialog})
        if log.on_dialog is not None:
            log.on_dialog(dialog)
        return log.dialog_answer

    monkeypatch.setattr(dialogs, "exec_dialog", fake_exec)
    return log


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project, built once (≈ 3 s); tests copy it before changing anything."""
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo

    folder = tmp_path_factory.mktemp("demo")
    build_demo(folder)
    return folder / f"{DEMO_NAME}.shrinkwise.json"


@pytest.fixture
def demo_project(demo_source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo_source.parent, target)
    return target / demo_source.name


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot: Any, settings: QSettings, dialog_log: DialogLog) -> Any:
    from shrinkwise.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    yield win
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)
    win.set_dirty(False)  # no prompt while the test closes it


def wait_idle(qtbot: Any, win: Any) -> None:
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)


def open_and_wait(qtbot: Any, win: Any, path: Path) -> None:
    win.open_project(path)
    qtbot.waitUntil(
        lambda: win.session is not None and win.session.path == path.resolve() and not win.busy, timeout=WAIT_MS
    )
