"""Names on the plots stay readable at 1024×700: on the Compare scatter no two names (points' or budget lines') print
over each other or past the plot's edge; the Run page's legends fit their plot (a name that does not fit ends in
'…', never loses its start) and the quality plot's run names under the axis do not run into each other."""

from __future__ import annotations

import html
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFontMetricsF

from shrinkwise.gui.compare_page import ComparePage
from shrinkwise.gui.plot_style import ELLIPSIS
from shrinkwise.gui.run_controller import RunController
from shrinkwise.gui.run_page import RunPage
from shrinkwise.workspace.result_row import ResultRow
from shrinkwise.workspace.session import Session

PAGE = (880, 620)  # the page's area in a 1024×700 window (the step list takes the rest)
# The candidates the screenshot walk (scripts/screenshots.py) leaves in the demo project: three autopilot rungs,
# the plan's three steps and a 2-bit palettization, several of them on the same spot or a few pixels apart.
DEMO_CANDIDATES = [
    ("run-68241101", "Autopilot 1: int8_static per_channel", 105750.0, 0.038, 0.98148, True, False),
    ("sensitivity-a71920d1", "Autopilot 2: int8_static per_channel", 107348.0, 0.074, 0.99630, True, False),
    ("run-92d0ae18", "Autopilot 3: mixed_precision", 202369.0, 0.039, 0.99630, False, True),
    ("run-fa702930", "fp16", 183491.0, 0.062, 0.99630, False, False),
    ("run-031da70b", "int8_static", 105750.0, 0.036, 0.98148, True, True),
    ("run-41c81547", "mixed_precision", 202369.0, 0.076, 0.99630, False, False),
    ("run-e04ae8be", "palettize (bits=2)", 362191.0, 0.053, 0.95741, False, False),
]


def shown_as(full: str, text: str) -> bool:
    """The whole name, or its start cut at the end with '…' (never its end with the start cut off)."""
    return text == full or (text.endswith(ELLIPSIS) and len(text) > 1 and full.startswith(text[:-1]))


def inside(rect: QRectF, area: QRectF) -> bool:
    return area.adjusted(-0.5, -0.5, 0.5, 0.5).contains(rect)


@pytest.fixture
def compare(qtbot: Any, demo_project: Path) -> ComparePage:
    session = Session.open(demo_project)
    project = session.project
    project.budget = project.budget.model_copy(update={"size_mb": 0.2, "accuracy_drop_pts": 1.0})
    original = next(r for r in session.results() if r.original)
    rows = [original] + [
        ResultRow(
            id=i,
            label=label,
            kind="run",
            original=False,
            size_bytes=size,
            latency_ms_median=latency,
            quality=quality,
            accuracy=quality,
            quality_metric="accuracy",
            pareto_size=front_size,
            pareto_latency=front_latency,
        )
        for i, label, size, latency, quality, front_size, front_latency in DEMO_CANDIDATES
    ]
    page = ComparePage()
    qtbot.addWidget(page)
    page.resize(*PAGE)
    page.show()
    qtbot.waitExposed(page)
    page.show_results(project, rows)
    page.select("run-fa702930")
    qtbot.wait(50)
    return page


def scatter_names(page: ComparePage) -> tuple[list[Any], QRectF]:
    vb = page.scatter_plot.plotItem.vb
    names = [t for t in [*page.labels, page.x_budget_label, page.y_budget_label] if t.isVisible()]
    return names, vb.sceneBoundingRect()


def assert_no_overlap(page: ComparePage) -> list[Any]:
    names, area = scatter_names(page)
    for a, b in combinations(names, 2):
        ra, rb = a.sceneBoundingRect(), b.sceneBoundingRect()
        assert not ra.intersects(rb), f"{a.toPlainText()!r} {ra} overlaps {b.toPlainText()!r} {rb}"
    for t in names:
        assert inside(t.sceneBoundingRect(), area), f"{t.toPlainText()!r} leaves the plot"
    return names


def test_compare_scatter_names_never_overlap_and_stay_inside(qtbot: Any, compare: ComparePage) -> None:
    assert compare.x_budget.isVisible() and compare.y_budget.isVisible()
    names = assert_no_overlap(compare)
    # Both budget lines are named, and at 1024×700 every candidate's name shows (in full or cut with '…').
    assert compare.x_budget_label in names and compare.y_budget_label in names
    assert compare.x_budget_label.toPlainText() == "size budget"
    shown = {t.full_name: t.toPlainText() for t in compare.labels if t.isVisible()}
    assert set(shown) == {"original"} | {c[1] for c in DEMO_CANDIDATES}
    for full, text in shown.items():
        assert shown_as(full, text), (full, text)
    assert any(text.endswith(ELLIPSIS) for text in shown.values())  # the long autopilot names are cut...
    for t in compare.labels:
        assert t.toolTip() == t.full_name  # ... and named in full in their tooltip
    # The scatter is wide enough for that because the tabs beside it keep only the room their names need.
    bar = compare.tabs.tabBar()
    assert bar.width() >= bar.sizeHint().width()  # every tab in view, no scroll arrows
    assert compare.scatter_plot.plotItem.vb.width() > 300
    # The budget names sit on no point either (the original's name used to print over 'budget').
    markers = [compare.scatter_plot.plotItem.vb.mapViewToScene(p.pos()) for p in compare.scatter.points()]
    for label in (compare.x_budget_label, compare.y_budget_label):
        box = label.sceneBoundingRect()
        assert not any(box.contains(m) for m in markers)


def test_compare_scatter_names_are_placed_again_after_a_resize_and_the_other_axis(
    qtbot: Any, compare: ComparePage
) -> None:
    compare.resize(640, 480)
    qtbot.wait(50)
    assert_no_overlap(compare)
    compare.axis_combo.setCurrentIndex(compare.axis_combo.findData("latency"))
    qtbot.wait(50)
    names = assert_no_overlap(compare)
    assert compare.x_budget_label not in names  # no latency budget: no line and no name
    assert compare.labels[0].full_name == "fp16" and compare.labels[0].isVisible()  # the selection's name first


@pytest.fixture
def run_page(qtbot: Any) -> RunPage:
    page = RunPage(RunController())
    qtbot.addWidget(page)
    page.resize(*PAGE)
    page.show()
    qtbot.waitExposed(page)
    runs = [("fp16", 99.63), ("int8_static", 98.15), ("mixed_precision", 99.63), ("palettize (bits=2)", 95.74)]
    for n, (name, quality) in enumerate(runs):
        key = ("progress", n)
        page._series(page.progress_plot, key, html.escape(name))
        page.data[key] = ([0.0, 1.0, 2.0], [0.0, 50.0, 100.0])
        page.dirty.add(key)
        page.quality_points.append((float(n + 1), quality, name))
    key = ("metric", 3, "sqnr")
    page._series(page.metric_plot, key, html.escape("palettize (bits=2): Weight SQNR (dB) <per tensor>"))
    page.data[key] = ([1.0, 2.0, 3.0], [10.3, 10.34, 10.55])
    page.dirty.add(key)
    page._quality_dirty = True
    page.redraw()
    qtbot.wait(50)
    return page


def assert_legends_fit(page: RunPage) -> None:
    for plot in (page.progress_plot, page.metric_plot):
        legend = plot.plotItem.legend
        assert inside(legend.sceneBoundingRect(), plot.plotItem.vb.sceneBoundingRect())
        for _sample, label in legend.items:
            full = label.full_name
            assert shown_as(full, html.unescape(label.text)), (full, label.text)
            assert label.toolTip() == full
            assert inside(label.sceneBoundingRect(), plot.plotItem.vb.sceneBoundingRect())


def tick_boxes(page: RunPage) -> list[tuple[float, float, str]]:
    axis = page.quality_plot.plotItem.getAxis("bottom")
    fm = QFontMetricsF(axis.style["tickFont"])
    vb = page.quality_plot.plotItem.vb
    boxes = []
    for x, text in axis._tickLevels[0]:  # the ticks as set (pyqtgraph keeps them there)
        centre = vb.mapViewToScene(QPointF(x, 0)).x()
        width = fm.horizontalAdvance(text)
        boxes.append((centre - width / 2, centre + width / 2, text))
    return boxes


def test_run_page_legends_fit_their_plot_with_names_cut_at_the_end(qtbot: Any, run_page: RunPage) -> None:
    assert_legends_fit(run_page)
    (label,) = [lb for _s, lb in run_page.metric_plot.plotItem.legend.items]
    assert label.full_name == "palettize (bits=2): Weight SQNR (dB) <per tensor>"
    shown = html.unescape(label.text)
    assert shown.startswith("palettize (bits=2)") and shown.endswith(ELLIPSIS)  # the run's name kept, the end cut
    progress = [html.unescape(lb.text) for _s, lb in run_page.progress_plot.plotItem.legend.items]
    assert progress == ["fp16", "int8_static", "mixed_precision", "palettize (bits=2)"]  # short names stay whole
    run_page.resize(600, 500)  # narrower: the names are cut again to the new width, and back when it grows
    qtbot.wait(50)
    assert_legends_fit(run_page)
    run_page.resize(1400, 700)
    qtbot.wait(50)
    assert_legends_fit(run_page)
    assert html.unescape(label.text) == label.full_name


def test_quality_plot_run_names_do_not_overlap(qtbot: Any, run_page: RunPage) -> None:
    for size in (PAGE, (600, 500), (400, 500)):
        run_page.resize(*size)
        qtbot.wait(50)
        boxes = tick_boxes(run_page)
        assert len(boxes) == 4
        for (_a0, a1, ta), (b0, _b1, tb) in zip(boxes, boxes[1:], strict=False):
            assert a1 < b0, f"{ta!r} runs into {tb!r} at {size}"
        names = [p[2] for p in run_page.quality_points]
        texts = [b[2] for b in boxes]
        assert all(shown_as(n, t) for n, t in zip(names, texts, strict=True)) or texts == ["1", "2", "3", "4"]
    assert run_page.quality_scatter.opts["hoverable"]  # the whole name is in the point's tooltip
