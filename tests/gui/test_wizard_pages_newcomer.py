"""What a newcomer meets on the pages (issue 14 wizard items, issue 13 rich text): every glossary term explained where
it is shown, no internal key on screen, Compare's Budget and Pareto columns in view at 1024×700 with the long
reasoning on demand, the sensitivity analysis run from the window, the export folder shown and opened, a file name
with markup shown literally, and the `interrupted` status named everywhere."""

from __future__ import annotations

import html
import re
import shutil
import threading
import typing
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QListWidget,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

from shrinkwise.gui import export_page as export_module
from shrinkwise.gui import workers
from shrinkwise.gui.compare_page import COL_BUDGET, COL_PARETO, COLUMNS
from shrinkwise.gui.help_text import GLOSSARY, terms_in
from shrinkwise.gui.main_window import STEP_COMPARE, STEP_EXPORT, STEP_RUN, STEPS, MainWindow
from shrinkwise.workspace.project import RunStatus
from shrinkwise.workspace.session import Session
from tests.gui.conftest import WAIT_MS, open_and_wait, wait_idle

RUN_WAIT_MS = 180_000

# --- what is on screen ---------------------------------------------------------------------------------------------


def rendered(label: QLabel) -> str:
    """What a label shows, as a person reads it (rich text rendered, plain text as it is)."""
    text = label.text()
    fmt = label.textFormat()
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(text))
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def _shown(w: QWidget, page: QWidget) -> bool:
    if not w.isVisibleTo(page):
        return False
    parent = w.parentWidget()
    while parent is not None and parent is not page:  # a widget on a hidden tab counts as shown: a click away
        parent = parent.parentWidget()
    return True


def visible_texts(page: QWidget) -> list[tuple[Any, str, str]]:
    """(owner, text, tooltip) of every text a user can read on the page: labels, buttons, group titles, tabs,
    table headers and cells, tree and list items, combo box choices (hidden tabs included)."""
    out: list[tuple[Any, str, str]] = []
    tabs = page.findChildren(QTabWidget)
    for t in tabs:  # show every tab once so its contents count as visible
        for i in range(t.count()):
            out.append((t, t.tabText(i), t.tabToolTip(i)))
    widgets = [w for w in page.findChildren(QWidget) if _shown(w, page) or any(t.isAncestorOf(w) for t in tabs)]
    for w in widgets:
        if w.objectName() == "qtooltip_label":  # the tooltip itself, shown by a hover
            continue
        if isinstance(w, QLabel) and w.text():
            out.append((w, rendered(w), w.toolTip()))
        elif isinstance(w, QAbstractButton) and w.text():
            out.append((w, w.text(), w.toolTip()))
        elif isinstance(w, QGroupBox) and w.title():
            out.append((w, w.title(), w.toolTip()))
        elif isinstance(w, QComboBox):
            out += [(w, w.itemText(i), str(w.itemData(i, Qt.ItemDataRole.ToolTipRole) or "")) for i in range(w.count())]
        elif isinstance(w, QTableWidget):
            for c in range(w.columnCount()):
                h = w.horizontalHeaderItem(c)
                if h is not None:
                    out.append((h, h.text(), h.toolTip()))
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    it = w.item(r, c)
                    if it is not None and it.text():
                        out.append((("cell", w), it.text(), it.toolTip()))
        elif isinstance(w, QTreeWidget):
            head = w.headerItem()
            out += [(head, head.text(c), head.toolTip(c)) for c in range(w.columnCount())]
            for i in range(w.topLevelItemCount()):
                it = w.topLevelItem(i)
                out += [(("cell", w), it.text(c), it.toolTip(c)) for c in range(w.columnCount()) if it.text(c)]
        elif isinstance(w, QListWidget):
            out += [(("cell", w), w.item(i).text(), w.item(i).toolTip()) for i in range(w.count())]
    return out


def hover_all(page: QWidget) -> None:
    """What a user's mouse does: a tooltip event on every label, button and group box of the page."""
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    for w in page.findChildren(QWidget):
        if isinstance(w, (QLabel, QAbstractButton, QGroupBox)):
            QApplication.sendEvent(w, QHelpEvent(QEvent.Type.ToolTip, QPoint(1, 1), w.mapToGlobal(QPoint(1, 1))))
    QToolTip.hideText()


def untipped_terms(page: QWidget) -> list[tuple[str, str]]:
    """Glossary terms used by a label, button, header or tab whose tooltip (on hover) does not explain them."""
    hover_all(page)
    missing = []
    for owner, text, tip in visible_texts(page):
        if isinstance(owner, tuple):  # cell values (numbers, names) are not labels
            continue
        for term in terms_in(text):
            if GLOSSARY[term] not in (tip or ""):
                missing.append((term, text))
    return missing


# Start, Data and Advice are laid out by other modules (start_page, panels, advice_page) and the Advice page shows
# the advisor's own wording; this file checks the pages of compare/export/profile/run/target_page.
OTHER_PAGES = ("Start", "Data", "Advice")
SNAKE = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.(/-])")
DOTTED = re.compile(r"\bbudget\.[a-z_]+")
RUN_ID = re.compile(r"\b(?:run|sweep|sensitivity)-[0-9a-f]{8}\b")


def internal_keys(texts: list[tuple[Any, str, str]], allowed: set[str]) -> list[tuple[str, str]]:
    """snake_case keys, `budget.*` paths and run ids in visible text (not in tooltips, which may name them)."""
    found = []
    for _owner, text, _tip in texts:
        for pattern in (SNAKE, DOTTED, RUN_ID):
            for m in pattern.finditer(text):
                if m.group(0) not in allowed:
                    found.append((m.group(0), text))
    return found


def user_names(session: Session) -> set[str]:
    """Names that come from the user's model, data and runs (technique ids name candidates too): not keys."""
    from shrinkwise.compression.catalog import technique_ids

    p = session.project
    names = set(technique_ids()) | {"x86_64"}  # an architecture's name, as CPUs are called
    for d in p.data:
        if d.health is not None:
            names |= set(d.health.group_counts) | {str(k) for k in d.health.class_counts}
        names |= set(Path(d.path).name.split("."))
    for e in p.experiments:
        names |= set(re.findall(r"[\w]+", e.label or ""))
    return names


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_with_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with a budget, two candidates and a sensitivity analysis (built once for this module)."""
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo
    from shrinkwise.workspace.runs import run_recipe, sensitivity

    folder = tmp_path_factory.mktemp("demo-runs")
    session = build_demo(folder)
    session.set_target("this-computer")
    session.set_budget(size_mb=0.3, accuracy_drop_pts=1.0)
    session.save()
    run_recipe(session, ["fp16"])
    run_recipe(session, ["int8_static"])
    sensitivity(session, 0.01)
    session.save()
    return folder / f"{DEMO_NAME}.shrinkwise.json"


@pytest.fixture
def project_with_runs(demo_with_runs: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo_with_runs.parent, target)
    return target / demo_with_runs.name


def _open(qtbot: Any, window: MainWindow, path: Path) -> None:
    window.resize(1024, 700)
    open_and_wait(qtbot, window, path)
    window.go(STEP_COMPARE)  # the advice is read when a page that shows it opens
    qtbot.waitUntil(lambda: window.advice is not None and bool(window.compare_page.rows), timeout=RUN_WAIT_MS)
    wait_idle(qtbot, window)


# --- glossary and names --------------------------------------------------------------------------------------------


def test_every_glossary_term_is_explained_where_it_is_shown(
    qtbot: Any, window: MainWindow, project_with_runs: Path
) -> None:
    _open(qtbot, window, project_with_runs)
    seen: set[str] = set()
    for i, name in enumerate(STEPS):
        window.go(i)
        qtbot.wait(50)
        page = window.pages.currentWidget()
        assert untipped_terms(page) == [], f"{name}: terms without a tooltip"
        seen |= {t for _o, text, _tip in visible_texts(page) for t in terms_in(text)}
    # The pages really use these words (so the check above covered them).
    assert {"SQNR", "MACs", "Pareto", "sensitivity", "agreement", "int8 static"} <= seen
    for term in ("QDQ", "SQNR", "MACs", "per-channel", "VNNI", "int8 static", "int8 dynamic", "fp16"):
        assert term in GLOSSARY and len(GLOSSARY[term]) > 60  # a plain explanation, not a one-word gloss


def test_help_glossary_lists_every_term(qtbot: Any, window: MainWindow) -> None:
    window.glossary_action.trigger()
    dialog = window._glossary_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    from PySide6.QtWidgets import QTextBrowser

    text = dialog.findChild(QTextBrowser, "glossary").toPlainText()
    for term, meaning in GLOSSARY.items():
        assert term in text and meaning[:40] in text
    assert "&Glossary" in [a.text() for a in window.menuBar().actions()[-1].menu().actions()]
    dialog.close()


def test_no_internal_key_in_the_visible_text_of_any_page(
    qtbot: Any, window: MainWindow, project_with_runs: Path
) -> None:
    _open(qtbot, window, project_with_runs)
    allowed = user_names(window.session)
    for i, name in enumerate(STEPS):
        if name in OTHER_PAGES:
            continue
        window.go(i)
        qtbot.wait(50)
        texts = visible_texts(window.pages.currentWidget())
        found = internal_keys(texts, allowed)
        assert found == [], f"{name} shows internal keys"
        binary = [t for _o, t, _tip in texts if re.search(r"\b[KMG]iB\b", t)]
        assert binary == [], f"{name}: sizes are decimal kB/MB like the budgets (workspace.units.fmt_bytes)"
    # The keys the issue names are shown in words (Target's budget, the settings forms).
    from shrinkwise.gui.config_form import ConfigForm

    form = ConfigForm("int8_static")
    qtbot.addWidget(form)
    labels = {rendered(w) for w in form.findChildren(QLabel)}
    assert "Layers kept in float" in labels and "Which op types to quantize" in labels
    assert not {"nodes_to_exclude", "op_preset", "Nodes To Exclude", "Op Preset"} & labels
    assert any("Setting: nodes_to_exclude" in w.toolTip() for w in form.findChildren(QLabel))  # the key, secondary


# --- Compare -------------------------------------------------------------------------------------------------------


def test_compare_budget_and_pareto_columns_are_in_view_at_1024x700(
    qtbot: Any, window: MainWindow, project_with_runs: Path
) -> None:
    _open(qtbot, window, project_with_runs)
    assert window.width() <= 1024 and window.height() <= 700
    window.go(STEP_COMPARE)
    qtbot.wait(100)
    page = window.compare_page
    table = page.table
    assert table.rowCount() == 4  # the original, fp16, int8_static and the sensitivity analysis's proposal
    viewport = table.viewport().width()
    header = table.horizontalHeader()
    for col in (COL_BUDGET, COL_PARETO):
        left = header.sectionViewportPosition(col)
        assert left >= 0 and left + header.sectionSize(col) <= viewport, COLUMNS[col]
        assert header.sectionSize(col) >= 30
    assert table.horizontalScrollBar().maximum() == 0  # nothing to scroll to
    assert window.page_area.verticalScrollBar().maximum() == 0  # and the page itself does not scroll
    # The recommended candidate's Budget cell is readable text, with its reason in the tooltip.
    rec = page.recommended_id
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == rec)
    assert table.item(row, COL_BUDGET).text() in ("recommended", "best so far")
    # Agreement and SQNR are not lost with their columns: the selected candidate's line says them.
    page.select(rec)
    assert "agreement" in page.details.text() and "SQNR" in page.details.text()


def test_compare_reasoning_is_collapsed_to_its_headline(
    qtbot: Any, window: MainWindow, project_with_runs: Path
) -> None:
    _open(qtbot, window, project_with_runs)
    window.go(STEP_COMPARE)
    page = window.compare_page
    decision = window.advice.decision
    assert html.unescape(decision.headline) in rendered(page.headline)
    rest = decision.paragraph.removeprefix(decision.headline).strip()
    assert rest and rest[:40] not in rendered(page.headline)
    assert page.why_button.isVisible() and not page.why.isVisible()
    page.why_button.click()
    assert page.why.isVisible() and rest[:40] in rendered(page.why)
    page.why_button.click()
    assert not page.why.isVisible()


# --- sensitivity from the window -----------------------------------------------------------------------------------


def test_sensitivity_runs_from_compare_off_the_ui_thread_and_its_proposal_runs(
    qtbot: Any, window: MainWindow, demo_project: Path
) -> None:
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_COMPARE)
    panel = window.compare_page.sensitivity
    assert panel.experiment is None and not panel.proposal_button.isEnabled()
    panel.tolerance.setValue(0.5)
    calls_before = len(workers.CALLS)
    panel.run_button.click()
    assert not panel.run_button.isEnabled(), panel.status.text() and panel.progress.isVisible()
    assert window.runs.items[-1].kind == "sensitivity"  # queued like any run: the Run page lists it
    assert window.run_page.table.rowCount() == 1
    qtbot.waitUntil(lambda: panel.experiment is not None, timeout=RUN_WAIT_MS)
    ran = [c for c in workers.CALLS[calls_before:] if c.name.endswith("run_sensitivity_job")]
    assert ran and all(c.thread is not threading.main_thread() for c in ran)
    exp = panel.experiment
    assert exp.kind == "sensitivity" and exp.extra["tolerance"] == pytest.approx(0.005)
    n = len(exp.extra["ranking"])
    assert n == 5 and panel.table.rowCount() == n  # the demo CNN's three Conv and two Gemm layers
    assert panel.table.item(0, 0).text().startswith(exp.extra["ranking"][0]["node"])
    assert "Proposal:" in rendered(panel.proposal) and "0.5 points" in rendered(panel.proposal)
    assert panel.run_button.isEnabled() and panel.proposal_button.isEnabled()

    before = {e.id for e in window.session.project.experiments}
    panel.proposal_button.click()
    item = window.runs.items[-1]
    assert item.kind == "run" and item.steps[0]["config"]["nodes_to_exclude"] == exp.extra["proposal"]["keep_float"]
    qtbot.waitUntil(lambda: not item.active, timeout=RUN_WAIT_MS)
    assert item.status == "finished", item.error
    new = [e for e in window.session.project.experiments if e.id not in before and e.kind == "run"]
    assert len(new) == 1 and new[0].recipe[0].technique == exp.extra["technique"]
    assert new[0].recipe[0].config["nodes_to_exclude"] == exp.extra["proposal"]["keep_float"]
    qtbot.waitUntil(lambda: any(r.id == new[0].id for r in window.compare_page.rows), timeout=WAIT_MS)
    wait_idle(qtbot, window)


# --- Export --------------------------------------------------------------------------------------------------------


def test_export_folder_is_beside_the_project_and_opens(
    qtbot: Any, window: MainWindow, demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(export_module.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    open_and_wait(qtbot, window, demo_project)
    window.go(STEP_EXPORT)
    page = window.export_page
    expected = demo_project.parent / "digits-demo-export"
    assert page.folder_label.isVisible() and page.folder_label.text() == str(expected)
    page.open_folder_button.click()
    assert opened == [QUrl.fromLocalFile(str(expected))] and expected.is_dir()


def test_export_folder_of_a_project_in_a_hidden_folder_is_in_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda *a, **k: str(tmp_path / "Documents"))
    hidden = tmp_path / "data" / "demo" / "digits-demo.shrinkwise.json"
    assert export_module.export_folder(hidden) == tmp_path / "Documents" / "Shrinkwise" / "digits-demo-export"
    dot = tmp_path / ".cache" / "p.shrinkwise.json"
    assert export_module.export_folder(dot).parent == tmp_path / "Documents" / "Shrinkwise"
    plain = tmp_path / "work" / "p.shrinkwise.json"
    assert export_module.export_folder(plain) == tmp_path / "work" / "p-export"


# --- rich text, statuses -------------------------------------------------------------------------------------------

MARKUP_NAME = "<b>x</b>.onnx"


def test_names_with_markup_are_shown_literally(qtbot: Any, window: MainWindow, project_with_runs: Path) -> None:
    session = Session.open(project_with_runs)
    exp = next(e for e in session.project.experiments if e.kind == "run")
    exp.label = MARKUP_NAME
    session.project.chosen = exp.id
    session.save()
    _open(qtbot, window, project_with_runs)
    for step in (STEP_COMPARE, STEP_EXPORT):
        window.go(step)
        qtbot.wait(50)
        page = window.pages.currentWidget()
        shown = [text for _o, text, _t in visible_texts(page)]
        assert any(MARKUP_NAME in t for t in shown), STEPS[step]
        assert not any("x.onnx" in t and MARKUP_NAME not in t for t in shown), "markup was rendered"
    # Tooltips guess rich text too: the name stays literal there.
    page = window.compare_page
    row = next(
        r for r in range(page.table.rowCount()) if page.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == exp.id
    )
    tip = page.table.item(row, 0).toolTip()
    doc = QTextDocument()
    doc.setHtml(tip)
    assert MARKUP_NAME in doc.toPlainText()


def test_interrupted_has_a_word_and_a_colour_in_every_status_map(qtbot: Any, window: MainWindow) -> None:
    from shrinkwise.gui import run_page
    from shrinkwise.gui.run_controller import RunItem
    from shrinkwise.workspace.labels import STATUS_COLOURS, STATUS_LABELS

    for status in typing.get_args(RunStatus):
        assert status in STATUS_LABELS and status in run_page.STATUS_WORDS
    assert STATUS_LABELS["interrupted"] == "Interrupted" and "interrupted" in STATUS_COLOURS
    item = RunItem(key=999, label="fp16", steps=[{"technique": "fp16"}], status="interrupted")
    window.go(STEP_RUN)
    window.run_page._on_added(item)
    row = window.run_page.rows[999]
    status = window.run_page.table.item(row, run_page.COL_STATUS)
    assert status.text() == "Interrupted" and status.foreground().color().isValid()


def test_messages_and_panels_show_file_names_with_markup_literally(qtbot: Any, dialog_log: Any) -> None:
    """Issue 13: the error, question and detail boxes, the project's path and the data roles never read a name as
    markup (`<b>x</b>.onnx` lives in a folder `<b>x<` as `b>.onnx`: the path is still shown as typed)."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication, QMessageBox

    from shrinkwise.compression.errors import ShrinkwiseError
    from shrinkwise.gui import dialogs
    from shrinkwise.gui.panels import DataPanel, ProjectPanel

    box = dialogs.error_box(None, ShrinkwiseError(f"cannot read {MARKUP_NAME}", fix="check it"))
    assert box.textFormat() == Qt.TextFormat.PlainText and MARKUP_NAME in box.text()
    dialogs.show_details(None, "A run failed", f"“{MARKUP_NAME}” failed", "")
    dialogs.ask_unsaved(None, MARKUP_NAME)
    shown = [d for d in dialog_log.shown if d["kind"] == "message"]
    assert len(shown) == 2 and all(MARKUP_NAME in d["text"] for d in shown)
    boxes = [w for w in QApplication.allWidgets() if isinstance(w, QMessageBox)]
    assert boxes and all(b.textFormat() == Qt.TextFormat.PlainText for b in boxes)

    panel = ProjectPanel()
    qtbot.addWidget(panel)
    panel.show_project(SimpleNamespace(name="p", notes=""), Path("/tmp") / MARKUP_NAME)
    assert rendered(panel.path_label) == str(Path("/tmp") / MARKUP_NAME)
    name = "<b>x.npz"  # a single file name (no slash) that Qt would take for markup
    doc = QTextDocument()
    doc.setHtml(DataPanel.roles_html([SimpleNamespace(path=f"data/{name}", samples=10, role="evaluation")]))
    assert name in doc.toPlainText()


def test_run_page_names_live_curves_and_sweeps_in_words(qtbot: Any) -> None:
    from types import SimpleNamespace

    from shrinkwise.gui.run_controller import RunController, RunItem
    from shrinkwise.gui.run_page import RunPage

    page = RunPage(RunController())
    qtbot.addWidget(page)
    item = RunItem(key=1, label="<b>p</b>", steps=[{"technique": "palettize"}], status="running")
    page._on_added(item)
    page._on_event(item, SimpleNamespace(kind="metric", series="weight_sqnr_db", step=1, value=10.3))
    name = page.curves[("metric", 1, "weight_sqnr_db")].name()
    assert name == "&lt;b&gt;p&lt;/b&gt;: Weight SQNR (dB)"  # legends render HTML: the label is escaped
    sweep = RunItem(
        key=2,
        label="s",
        steps=[{"technique": "int8_static"}],
        group="sweep-1",
        sweep_key="calibration_samples",
        level=64,
    )
    page._add_sweep_point(sweep, "accuracy", 99.0)
    assert page.curves[("sweep", "sweep-1")].name() == "int8_static: Calibration inputs"
    assert page.quality_plot.plotItem.getAxis("bottom").labelText == "Calibration inputs"
