"""The wizard's pages one by one: cancelling runs, closing during a run, generated settings forms, Netron, help,
window geometry, disagreement images, and a start-up that never loads torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from shrinkwise.gui.main_window import STEP_ADVICE, STEP_MODEL, STEP_RUN, MainWindow
from shrinkwise.workspace.session import Session
from tests.gui.conftest import WAIT_MS, open_and_wait, wait_idle

RUN_WAIT_MS = 120_000


def test_cancel_one_run_then_all(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    first, second, third = window.start_runs(
        [
            {"steps": [{"technique": "int8_static", "config": {}}], "label": "first"},
            {"steps": [{"technique": "fp16", "config": {}}], "label": "second"},
            {"steps": [{"technique": "int8_dynamic", "config": {}}], "label": "third"},
        ]
    )
    assert window.pages.currentIndex() == STEP_RUN
    assert [i.status for i in (first, second, third)] == ["starting", "queued", "queued"]
    qtbot.waitUntil(lambda: first.status == "running", timeout=WAIT_MS)
    window.run_page.buttons[first.key].click()  # cancel the running one: the next one starts
    qtbot.waitUntil(lambda: first.status == "cancelled", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: second.status in ("starting", "running"), timeout=WAIT_MS)
    assert window.run_page.cancel_all_button.isEnabled()
    window.run_page.cancel_all_button.click()
    assert third.status == "cancelled"
    qtbot.waitUntil(lambda: not window.runs.active, timeout=RUN_WAIT_MS)
    assert second.status == "cancelled"
    statuses = {e.label: e.status for e in Session.open(demo_project).project.experiments if e.kind == "run"}
    assert statuses == {"first": "cancelled", "second": "cancelled"}  # the third never started
    assert "cancelled" in window.run_page.table.item(window.run_page.rows[first.key], 1).text().lower()


def test_closing_during_a_run_asks_then_stops_cleanly(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    (item,) = window.start_runs([{"steps": [{"technique": "int8_static", "config": {}}], "label": "long"}])
    qtbot.waitUntil(lambda: item.status == "running", timeout=WAIT_MS)
    dialog_log.answer = QMessageBox.StandardButton.No
    assert not window.close()
    assert dialog_log.shown[-1]["title"] == "Runs in progress" and window.isVisible() and item.active
    dialog_log.answer = QMessageBox.StandardButton.Yes
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_WAIT_MS)
    assert item.status == "cancelled"
    exp = next(e for e in Session.open(demo_project).project.experiments if e.label == "long")
    assert exp.status == "cancelled"


def test_a_failed_run_shows_its_reason_with_details(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    (item,) = window.start_runs(
        [{"steps": [{"technique": "int8_static", "config": {"calibrate_method": "Nonsense"}}], "label": "bad"}]
    )
    qtbot.waitUntil(lambda: not window.runs.active, timeout=RUN_WAIT_MS)
    assert item.status == "failed" and item.error
    button = window.run_page.buttons[item.key]
    assert button.text() == "Details…"
    button.click()
    shown = dialog_log.shown[-1]
    assert shown["title"] == "A run failed" and "bad" in shown["text"]
    assert "failed" in window.busy_label.text().lower()


def test_settings_forms_for_every_technique(qtbot: Any) -> None:
    from shrinkwise.compression.catalog import load_catalog, technique_module
    from shrinkwise.compression.errors import TechniqueError
    from shrinkwise.gui.config_form import ConfigForm, FloatEdit

    for tid in load_catalog():
        form = ConfigForm(tid)
        qtbot.addWidget(form)
        assert form.values() == {}, tid  # the defaults round-trip
        props = technique_module(tid).Config.model_json_schema()["properties"]
        for name, (widget, _prop) in form.fields.items():
            assert widget.toolTip() == props[name].get("description", ""), (tid, name)
        technique_module(tid).Config.model_validate(form.all_values())
    form = ConfigForm("int8_static", {"calibration_samples": 64, "per_channel": True, "calibrate_method": "Entropy"})
    qtbot.addWidget(form)
    assert form.values() == {"calibration_samples": 64, "per_channel": True, "calibrate_method": "Entropy"}
    spin = form.fields["calibration_samples"][0]
    assert spin.minimum() == 1 and spin.maximum() == 100000
    fp16 = ConfigForm("fp16")
    qtbot.addWidget(fp16)
    edit = fp16.fields["min_positive_value"][0]
    assert isinstance(edit, FloatEdit) and float(edit.text()) == 1e-07
    edit.setText("-1")
    with pytest.raises(TechniqueError, match="min_positive_value"):
        fp16.values()


def test_settings_dialog_and_added_technique_reach_the_run(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_ADVICE)
    qtbot.waitUntil(lambda: window.advice is not None and not window.busy, timeout=WAIT_MS)
    page = window.advice_page
    page.add_technique("palettize")
    assert any(e["key"] == "added:0" for e in page.entries())

    def edit(dialog: Any) -> None:
        dialog.form.fields["bits"][0].setValue(3)
        dialog._accept()

    dialog_log.on_dialog = edit
    dialog_log.dialog_answer = 1
    page._edit_settings("added:0", "palettize", "Palettization")
    assert dialog_log.shown[-1]["title"] == "Settings: Palettization"
    assert page.state["configs"]["added:0"] == {"bits": 3}
    assert window.session.project.plan.configs["added:0"] == {"bits": 3}
    for key, check in page.checks.items():
        check.setChecked(key == "added:0")
    seen: list[Any] = []
    window.runs.enqueue = lambda steps, label=None, group=None: seen.append((steps, label))  # type: ignore[method-assign]
    page.run_button.click()
    assert seen == [([{"technique": "palettize", "config": {"bits": 3}}], "palettize (bits=3)")]


def test_target_question_sets_the_target(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_ADVICE)
    qtbot.waitUntil(lambda: window.advice is not None and not window.busy, timeout=WAIT_MS)
    assert "target.id" in [q.fact for q in window.advice.questions]
    combo = window.advice_page.question_widgets["target.id"]
    combo.setCurrentIndex(combo.findData("phone-npu"))
    window.answer("target.id", combo.currentData())
    assert window.session.project.target.id == "phone-npu"
    assert window.target_page.combo.currentData() == "phone-npu"
    assert "target.id" not in [q.fact for q in window.advice.questions]
    assert window.advice.target == "phone-npu"


def test_netron_button_only_when_installed(
    qtbot: Any, settings: Any, demo_project: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import profile_view

    monkeypatch.setattr(profile_view, "netron_available", lambda: False)
    plain = MainWindow(settings=settings)
    qtbot.addWidget(plain)
    assert plain.profile_view.netron_button.isHidden()

    launched: list[str] = []
    monkeypatch.setattr(profile_view, "netron_available", lambda: True)
    monkeypatch.setattr(profile_view, "launch_netron", lambda path: launched.append(path))
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    open_and_wait(qtbot, win, demo_project)
    assert not win.profile_view.netron_button.isHidden()
    win.profile_view.netron_button.click()
    assert launched and launched[0].endswith(".onnx")


def test_clicking_a_layer_bar_selects_the_layer(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    open_and_wait(qtbot, window, demo_project)
    view = window.profile_view
    view.metric_combo.setCurrentText("Largest layers (kB)")
    chart = view.metric_chart
    assert chart.ops[0] == "/features/features.8/Conv"
    view.filter_edit.setText("Gemm")  # the layer is filtered out: selecting it clears the filter
    with qtbot.waitSignal(chart.op_clicked, timeout=5000):
        qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=chart.bar_center_in_view(chart.ops[0]))
    assert view.selected_layer() == "/features/features.8/Conv"
    assert chart.selected == "/features/features.8/Conv"


def test_help_shortcut_and_geometry_kept(qtbot: Any, window: MainWindow, dialog_log: Any, settings: Any) -> None:
    window.go(STEP_MODEL)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert dialog_log.shown[-1]["title"] == "Help — Model"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.target_page
    window.resize(900, 640)
    assert window.close()
    again = MainWindow(settings=type(settings)(settings.fileName(), settings.format()))
    qtbot.addWidget(again)
    assert settings.contains("window/geometry")
    assert again.height() == 640  # (the offscreen screen is 800 px wide: the width is clamped to it)


def test_disagreement_images_render_from_the_evaluation_data(qtbot: Any, demo_project: Path) -> None:
    from shrinkwise.gui.compare_page import ComparePage, digit_image

    session = Session.open(demo_project)
    base = session.project.baseline
    assert base is not None and base.quality is not None
    changed_exp = base.model_copy(
        update={
            "id": "run-x",
            "kind": "run",
            "quality": base.quality.model_copy(update={"disagreements": [3, 5, 700000]}),
        }
    )
    session.project.experiments.append(changed_exp)
    changed = session.disagreements("run-x")
    assert changed.images and changed.indices == [3, 5] and len(changed.labels) == 2
    img = digit_image(changed.inputs[0])
    assert (img.width(), img.height()) == (40, 40)
    assert img.pixelColor(0, 0).value() != img.pixelColor(20, 20).value() or not np.allclose(
        changed.inputs[0], changed.inputs[0].mean()
    )
    page = ComparePage()
    qtbot.addWidget(page)
    page.selected_id = "run-x"
    page.show_images("run-x", changed)
    from PySide6.QtWidgets import QLabel

    pictures = [l for l in page.images.findChildren(QLabel) if l.pixmap() is not None and not l.pixmap().isNull()]
    assert len(pictures) == 2
    page.show_images("another", changed)  # a late answer for another candidate is ignored
    assert len([l for l in page.images.findChildren(QLabel) if l.pixmap() is not None and not l.pixmap().isNull()]) == 2


def test_gui_start_up_does_not_load_torch() -> None:
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import shrinkwise.gui.app, shrinkwise.gui.main_window, shrinkwise.gui.advising, shrinkwise.gui.config_form\n"
        "w = shrinkwise.gui.main_window.MainWindow()\n"
        "w.go(2); w.go(4); w.go(5); w.go(6); w.go(7)\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules]\n"
        "shrinkwise.gui.app.dispose(w)\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_data_buttons_add_data_with_their_role(
    qtbot: Any, window: MainWindow, demo_project: Path, monkeypatch: Any, dialog_log: Any
) -> None:
    from shrinkwise.gui import dialogs

    open_and_wait(qtbot, window, demo_project)
    monkeypatch.setattr(
        dialogs, "choose_open_path", lambda *a, **k: str(demo_project.parent / "data" / "digits_eval.npz")
    )
    window.data_panel.role_buttons["calibration"].click()
    wait_idle(qtbot, window)
    assert not dialog_log.shown  # the role came from the button: no question asked
    assert {d.role for d in window.session.project.data} == {"training", "evaluation", "calibration"}
    assert "digits_eval.npz</b> (540 samples)" in window.data_panel.roles_label.text().split("Calibration:")[1]


def test_sweep_plots_quality_against_the_level(
    qtbot: Any, window: MainWindow, demo_project: Path, dialog_log: Any
) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_ADVICE)
    qtbot.waitUntil(lambda: window.advice is not None and not window.busy, timeout=WAIT_MS)
    page = window.advice_page
    page.add_technique("palettize")

    def choose(dialog: Any) -> None:
        assert dialog.windowTitle().startswith("Sweep")
        dialog.set_sweep("bits", "2, 9")
        dialog._accept()  # 9 is out of range: refused with the reason, the dialog stays open
        assert not dialog.error.isHidden() and "bits" in dialog.error.text()
        dialog.set_sweep("bits", "2, 4")
        dialog._accept()

    dialog_log.on_dialog = choose
    dialog_log.dialog_answer = 1
    page._sweep("added:0", "palettize", "Palettization")
    items = window.runs.items
    assert [i.label for i in items] == ["palettize bits=2", "palettize bits=4"] and items[0].group == items[1].group
    qtbot.waitUntil(lambda: not window.runs.active, timeout=RUN_WAIT_MS)
    assert [i.status for i in items] == ["finished", "finished"], [(i.status, i.error) for i in items]
    rp = window.run_page
    qtbot.waitUntil(lambda: not rp.dirty, timeout=5000)
    xs, ys = rp.data[("sweep", items[0].group)]
    assert xs == [2.0, 4.0] and ys[0] < ys[1]  # 2-bit palettes lose more than 4-bit ones
    assert rp.sweep_mode
    sweeps = [e for e in Session.open(demo_project).project.experiments if e.kind == "sweep"]
    assert len(sweeps) == 2 and len({e.group for e in sweeps}) == 1


def test_sweep_values_parse_and_suggest() -> None:
    from shrinkwise.compression.errors import TechniqueError
    from shrinkwise.gui.config_form import parse_values, suggested_values, sweepable_fields

    fields = sweepable_fields("int8_static")
    assert "calibrate_method" in fields and "op_types_to_quantize" not in fields
    assert suggested_values(fields["calibrate_method"]) == ["MinMax", "Entropy", "Percentile"]
    assert suggested_values(fields["calibration_samples"]) == [64, 128, 256]
    assert parse_values(fields["calibration_samples"], "32, 64") == [32, 64]
    with pytest.raises(TechniqueError, match="whole number"):
        parse_values(fields["calibration_samples"], "32, lots")
    with pytest.raises(TechniqueError, match="choices"):
        parse_values(fields["calibrate_method"], "MinMax, Guess")


def test_many_signal_emits_do_not_abort_the_interpreter() -> None:
    """PySide6 6.12.0 loses a reference to True on every Python-side emit; on CPython 3.11 that aborted the app
    after a few thousand emits (so pyproject.toml excludes it). With the installed PySide6: 50,000 emits, clean exit."""
    code = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "import shrinkwise.gui\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "class O(QObject):\n"
        "    s = Signal(int)\n"
        "o = O(); o.s.connect(lambda x: None)\n"
        "for _ in range(50_000): o.s.emit(1)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_start_page_lists_recent_projects_and_opens_them(qtbot: Any, window: MainWindow, demo_project: Path) -> None:
    from shrinkwise.gui.main_window import STEP_START

    assert not window.start_page.how_box.isHidden() and window.start_page.project_box.isHidden()
    window.add_recent(demo_project)
    window.refresh()
    recent = window.start_page.recent
    assert recent.count() == 1 and recent.item(0).text().startswith(demo_project.name)
    recent.itemActivated.emit(recent.item(0))
    qtbot.waitUntil(lambda: window.session is not None and not window.busy, timeout=WAIT_MS)
    window.go(STEP_START)
    assert not window.start_page.project_box.isHidden() and window.start_page.how_box.isHidden()
    assert window.project_panel.name_edit.text() == "Digits demo"


def test_questions_get_the_right_input(qtbot: Any, tmp_path: Path) -> None:
    from shrinkwise.gui.advising import fact_kind
    from shrinkwise.workspace.session import Session

    assert fact_kind("device_available") == "bool"
    assert fact_kind("data.calibration_samples") == "int"
    assert fact_kind("budget.latency_ms") == "float"
    assert fact_kind("budget.latency_statistic") == "choice"
    assert fact_kind("target.id") == "target"
    s = Session.create(tmp_path / "x")
    s.answer("budget.size_mb", 2.0)
    s.answer("target.id", "phone-npu")
    s.answer("data.has_training_data", True)
    p = s.project
    assert (
        p.budget.model_dump(exclude_none=True) == {"size_mb": 2.0}
        and p.target.id == "phone-npu"
        and p.answers == {"data.has_training_data": True}
    )


def test_compare_says_how_the_selected_candidate_was_made(qtbot: Any, demo_project: Path) -> None:
    """The Advisor's reading tab ends with each step's summary and caveats (the artifact's notes, such as the
    exact-int8 measurement note), escaped, and says nothing of the kind for the original."""
    from shrinkwise.gui.compare_page import ComparePage
    from shrinkwise.workspace.project import ArtifactRecord, Lineage

    session = Session.open(demo_project)
    base = session.project.baseline
    assert base is not None
    art = ArtifactRecord(
        path=base.artifacts[0].path if base.artifacts else "model.onnx",
        size_bytes=1000,
        sha256="0" * 64,
        summary="Static int8 <QDQ>: 0.28× the original size.",
        notes=["Quality is measured with ONNX Runtime's exact int8 kernel.", "Speed-ups depend on the CPU."],
        lineage=Lineage(model_sha256="0" * 64),
    )
    session.project.experiments.append(
        base.model_copy(update={"id": "run-x", "kind": "run", "label": "int8_static", "artifacts": [art]})
    )
    page = ComparePage()
    qtbot.addWidget(page)
    page.show_results(session.project, session.results(), session.advise())
    page.select("run-x")
    text = page.reading.text()
    assert "How this candidate was made" in text
    assert "Static int8 &lt;QDQ&gt;: 0.28× the original size." in text
    assert text.index("exact int8 kernel") < text.index("Speed-ups depend on the CPU.")
    page.select(next(r.id for r in page.rows if r.original))
    assert "How this candidate was made" not in page.reading.text()
