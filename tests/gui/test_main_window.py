"""The main window over the demo project: profile table, charts, files, dirty state, drops, threads, recent files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from shrinkwise.gui import workers
from shrinkwise.gui.main_window import MainWindow
from shrinkwise.gui.profile_view import COL_OP, COL_PARAMS
from shrinkwise.workspace.session import Session
from tests.gui.conftest import WAIT_MS, open_and_wait, wait_idle


def _cell(view: Any, row: int, col: int) -> str:
    proxy = view.proxy
    return proxy.data(proxy.index(row, col))


def test_demo_profile_table_sorts_numerically(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    view = window.profile_view
    assert view.state == "profile"
    assert view.proxy.rowCount() == 12
    view.table.sortByColumn(COL_PARAMS, Qt.SortOrder.DescendingOrder)
    assert _cell(view, 0, COL_OP) == "Conv"
    assert _cell(view, 0, COL_PARAMS) == "36,928"
    assert _cell(view, 1, COL_PARAMS) == "32,896"  # numeric, not text order ("320" would beat it as text)
    view.table.sortByColumn(COL_PARAMS, Qt.SortOrder.AscendingOrder)
    assert _cell(view, 0, COL_PARAMS) == "0"
    alignment = view.proxy.data(view.proxy.index(0, COL_PARAMS), Qt.ItemDataRole.TextAlignmentRole)
    assert alignment & Qt.AlignmentFlag.AlignRight
    assert "Largest:" in view.callout.text() and "Slowest:" in view.callout.text()
    assert "profiler" in view.timing_note.text()


def test_filter_text_and_op_type(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    view = window.profile_view
    qtbot.keyClicks(view.filter_edit, "Gemm")
    assert view.proxy.rowCount() == 2
    assert view.shown_label.text() == "2 of 12 layers"
    view.filter_edit.clear()
    assert view.proxy.rowCount() == 12
    view.op_combo.setCurrentText("Conv")
    assert view.proxy.rowCount() == 3
    assert {_cell(view, r, COL_OP) for r in range(3)} == {"Conv"}
    view.op_combo.setCurrentIndex(0)
    assert view.proxy.rowCount() == 12


def test_clicking_a_bar_filters_to_its_op_type(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    view = window.profile_view
    chart = view.count_chart
    with qtbot.waitSignal(chart.op_clicked, timeout=5000) as blocker:
        qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=chart.bar_center_in_view("MaxPool"))
    assert blocker.args == ["MaxPool"]
    assert view.proxy.rowCount() == 2
    assert view.op_combo.currentText() == "MaxPool"
    assert chart.selected == "MaxPool"
    # The second chart filters too, and clicking the chosen op type again shows all layers.
    view.metric_chart.op_clicked.emit("MaxPool")
    assert view.proxy.rowCount() == 12
    view.metric_combo.setCurrentIndex(1)  # weights per op type
    assert view.metric_chart.values[view.metric_chart.ops.index("Relu")] == 0.0


def test_new_save_reopen_round_trip(
    qtbot: Any, window: MainWindow, dialog_log: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from shrinkwise.gui import dialogs

    target = tmp_path / "mine.shrinkwise.json"
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: str(target))
    window.new_action.trigger()
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=WAIT_MS)
    assert window.profile_view.state == "empty"
    assert "Drop a model file here" in window.profile_view.empty_label.text()
    assert window.windowTitle().startswith("mine")
    window.project_panel.notes_edit.setPlainText("for the kiosk")
    assert window.dirty
    window.save_action.trigger()
    assert not window.dirty
    before = window.session.project.model_dump()

    other = MainWindow(settings=window.settings)
    qtbot.addWidget(other)
    open_and_wait(qtbot, other, target)
    assert other.session.project.model_dump() == before
    assert Session.open(target).project.notes == "for the kiosk"
    assert other.project_panel.notes_edit.toPlainText() == "for the kiosk"

    copy = tmp_path / "copy.shrinkwise.json"
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: str(copy))
    window.save_as_action.trigger()
    assert copy.exists() and window.session.path == copy.resolve()
    assert window.recent_projects()[0] == copy.resolve()


def test_dirty_marker_follows_changes_and_save(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    assert window.windowTitle() == "Digits demo — Shrinkwise"
    qtbot.keyClicks(window.project_panel.name_edit, "!")
    assert window.windowTitle() == "Digits demo!* — Shrinkwise"
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert window.windowTitle() == "Digits demo! — Shrinkwise"
    assert Session.open(demo_project).project.name == "Digits demo!"


def test_unsaved_changes_prompt_on_close(qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.project_panel.notes_edit.setPlainText("changed")
    dialog_log.answer = QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert window.isVisible() and dialog_log.shown[-1]["title"] == "Unsaved changes"
    dialog_log.answer = QMessageBox.StandardButton.Save
    assert window.close()
    assert Session.open(demo_project).project.notes == "changed"


def _drop(window: MainWindow, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)


def test_dropping_a_corrupt_onnx_shows_error_and_changes_nothing(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    before = window.session.project.model_dump()
    on_disk = demo_project.read_text()
    bad = demo_project.parent / "broken.onnx"
    bad.write_bytes(b"this is not a protobuf \x00\x01\x02" * 10)
    _drop(window, bad)
    qtbot.waitUntil(lambda: bool(dialog_log.errors()), timeout=WAIT_MS)
    wait_idle(qtbot, window)
    error = dialog_log.errors()[-1]
    assert "broken.onnx" in error["text"] and "\n" not in error["text"]
    assert window.session.project.model_dump() == before
    assert demo_project.read_text() == on_disk
    assert window.profile_view.state == "profile"


def test_unexpected_exception_shows_traceback(qtbot: Any, window: MainWindow, dialog_log: Any) -> None:
    def boom() -> None:
        raise ValueError("kaput")

    window.run_job("Testing…", boom)
    qtbot.waitUntil(lambda: bool(dialog_log.errors()), timeout=WAIT_MS)
    error = dialog_log.errors()[-1]
    assert "kaput" in error["text"] and "Traceback" in error["details"]
    assert error["icon"] == QMessageBox.Icon.Critical


def test_attach_and_profile_run_off_the_ui_thread(
    qtbot: Any, window: MainWindow, demo_project: Path, tmp_path: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import dialogs

    onnx = demo_project.parent / "digits-demo.artifacts" / "model" / "digits_cnn.onnx"
    target = tmp_path / "fresh.shrinkwise.json"
    monkeypatch.setattr(dialogs, "choose_save_path", lambda *a, **k: str(target))
    workers.CALLS.clear()
    _drop(window, onnx)  # no project yet: a new one is created, then the model attached and profiled
    qtbot.waitUntil(lambda: window.profile_view.state == "profile" and not window.busy, timeout=WAIT_MS)
    assert not dialog_log.errors()
    assert window.session.project.model is not None and window.session.project.model.format == "onnx"
    assert window.profile_view.proxy.rowCount() == 12
    names = [c.name for c in workers.CALLS]
    assert any("attach_model" in n for n in names) and any("profile" in n for n in names)
    assert all(c.thread is not threading.main_thread() for c in workers.CALLS)

    workers.CALLS.clear()
    window.profile_action.trigger()
    assert window.busy and window.progress.isVisible()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert [c.name for c in workers.CALLS] == ["Session.profile"]
    assert workers.CALLS[0].thread is not threading.main_thread()
    assert not window.progress.isVisible()


def test_data_and_baseline_panels(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    tree = window.data_panel.tree
    assert tree.topLevelItemCount() == 2
    roles = {tree.topLevelItem(i).text(1) for i in range(2)}
    assert roles == {"training", "evaluation"}
    table = window.measurements_panel.table
    assert table.rowCount() > 0
    assert {table.item(r, 2).text() for r in range(table.rowCount())} >= {"measured here"}


def test_recent_projects_persist_and_prune(
    qtbot: Any, window: MainWindow, demo_project: Path, tmp_path: Path, settings: Any
) -> None:
    other = Session.create(tmp_path / "other.shrinkwise.json")
    open_and_wait(qtbot, window, demo_project)
    open_and_wait(qtbot, window, other.path)
    assert window.recent_projects() == [other.path.resolve(), demo_project.resolve()]
    again = MainWindow(settings=type(settings)(settings.fileName(), settings.format()))
    qtbot.addWidget(again)
    assert again.recent_projects() == [other.path.resolve(), demo_project.resolve()]
    texts = [a.text() for a in again.recent_menu.actions()]
    assert texts[0].endswith("other.shrinkwise.json")
    other.path.unlink()
    assert again.recent_projects() == [demo_project.resolve()]
    for i in range(10):
        window.add_recent(Session.create(tmp_path / f"p{i}.shrinkwise.json").path)
    assert len(window.recent_projects()) == 8


def test_about_lists_versions(window: MainWindow, dialog_log: Any) -> None:
    window.about_action.trigger()
    text = dialog_log.shown[-1]["text"]
    assert "onnxruntime" in text and "PySide6" in text and "shrinkwise" in text


def test_torch_state_dict_drop_asks_for_architecture_and_shape(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    from shrinkwise.compression.demo import ARCHITECTURE_CLASS, ARCHITECTURE_FILE

    open_and_wait(qtbot, window, demo_project)
    folder = demo_project.parent

    def fill(dialog: Any) -> None:
        dialog.architecture.setText(str(folder / "model" / ARCHITECTURE_FILE) + f":{ARCHITECTURE_CLASS}")
        dialog.input_shape.setText("x:1,1,8,8")

    dialog_log.on_dialog = fill
    dialog_log.dialog_answer = 1
    workers.CALLS.clear()
    _drop(window, folder / "model" / "digits_cnn.pt")
    assert dialog_log.shown[-1]["title"] == "About this PyTorch model"
    qtbot.waitUntil(lambda: window.profile_view.state == "profile" and not window.busy, timeout=WAIT_MS)
    assert not dialog_log.errors(), dialog_log.errors()
    assert window.session.project.model.format == "state_dict"
    assert all(c.thread is not threading.main_thread() for c in workers.CALLS)


def test_dropping_data_asks_its_role_and_adds_it_off_the_ui_thread(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    data = demo_project.parent / "data" / "digits_eval.npz"

    def choose(dialog: Any) -> None:
        dialog.role.setCurrentIndex(dialog.role.findData("calibration"))

    dialog_log.on_dialog = choose
    dialog_log.dialog_answer = 1
    workers.CALLS.clear()
    _drop(window, data)
    assert window.busy and not window.project_panel.isEnabled()
    qtbot.waitUntil(lambda: not window.busy, timeout=WAIT_MS)
    assert not dialog_log.errors(), dialog_log.errors()
    assert {d.role for d in window.session.project.data} == {"training", "evaluation", "calibration"}
    assert window.data_panel.tree.topLevelItemCount() == 3
    assert window.pages.currentWidget() is window.data_panel
    assert [c.name for c in workers.CALLS] == ["Session.add_data"]
    assert workers.CALLS[0].thread is not threading.main_thread()
    assert not window.dirty and Session.open(demo_project).project.data == window.session.project.data


def test_dropping_data_cancelled_changes_nothing(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    before = window.session.project.model_dump()
    _drop(window, demo_project.parent / "data" / "digits_eval.npz")  # the role dialog is rejected
    assert not window.busy
    assert window.session.project.model_dump() == before
