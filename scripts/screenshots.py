"""Walk the wizard on the demo project offscreen and save a PNG of every page (`make screenshots`).

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots] [--demo-dir DIR] [--size 1024x700]

Real runs (fp16, int8_static and a 2-bit palettization that changes some answers) fill the Run and Compare pages.
A script, not the app: waiting here pumps the event loop with QTest.qWait.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def shrink(path: Path) -> None:
    """256-colour PNG (about a third of the size) when Pillow is installed; the picture looks the same."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--demo-dir", type=Path, help="a folder for the demo project (rebuilt when empty)")
    parser.add_argument("--size", default="1024x700")  # the smallest window the app is made to fit
    parser.add_argument("--dark", action="store_true", help="use a dark palette (to check readability)")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QLabel

    from shrinkwise.gui import dialogs
    from shrinkwise.gui.main_window import STEPS, MainWindow
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo

    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("Shrinkwise")
    if args.dark:
        app.setStyle("Fusion")
        from PySide6.QtGui import QColor, QPalette

        pal = QPalette()
        for role, color in (
            (QPalette.ColorRole.Window, "#2b2b2b"),
            (QPalette.ColorRole.WindowText, "#e0e0e0"),
            (QPalette.ColorRole.Base, "#1e1e1e"),
            (QPalette.ColorRole.AlternateBase, "#262626"),
            (QPalette.ColorRole.Text, "#e0e0e0"),
            (QPalette.ColorRole.Button, "#3a3a3a"),
            (QPalette.ColorRole.ButtonText, "#e0e0e0"),
            (QPalette.ColorRole.Highlight, "#3d6fb4"),
        ):
            pal.setColor(role, QColor(color))
        app.setPalette(pal)
    dialogs.exec_dialog = lambda dialog: 0  # nothing modal offscreen; errors are printed below instead
    folder = args.demo_dir or Path(tempfile.mkdtemp(prefix="shrinkwise-shots-"))
    project = folder / f"{DEMO_NAME}.shrinkwise.json"
    if project.exists():  # start from a fresh demo so the pictures are the same every time
        shutil.rmtree(folder)
    build_demo(folder)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("recent_projects", [str(project)])
    w, h = (int(v) for v in args.size.split("x"))
    window = MainWindow(settings=settings)
    window.resize(w, h)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)

    def wait(cond, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for the app")
            QTest.qWait(50)

    def shot(step: str, name: str | None = None) -> None:
        window.go(STEPS.index(step))
        QTest.qWait(400)
        path = args.out / f"{name or step.lower()}.png"
        window.grab().save(str(path))
        shrink(path)
        print(f"saved {path}")

    shot("Start", "start-empty")
    window.open_project(project)
    wait(lambda: window.session is not None and not window.busy)
    shot("Start")
    window.profile_view.metric_combo.setCurrentText("Largest layers (kB)")
    window.profile_view.select_layer("/features/features.8/Conv")
    shot("Model")
    window.go(STEPS.index("Target"))
    tp = window.target_page
    window.ensure_targets()
    tp.combo.setCurrentIndex(tp.combo.findData("raspberry-pi-4"))
    tp.spins["size_mb"].setValue(0.2)
    tp.spins["accuracy_drop_pts"].setValue(1.0)
    tp.spins["latency_ms"].setValue(5.0)
    shot("Target")
    shot("Data")
    # The autopilot first, on a budget fp16 cannot reach (so it has a rung to climb), then the same budget as above.
    window.go(STEPS.index("Target"))
    tp.spins["size_mb"].setValue(0.11)
    window.go(STEPS.index("Advice"))
    wait(lambda: window.advice is not None and not window.busy)
    panel = window.advice_page.autopilot
    panel.minutes.setValue(3.0)
    panel.button.click()
    QTest.qWait(200)
    wait(lambda: not panel.running, 400)
    window.advice_page.scroll.verticalScrollBar().setValue(0)
    shot("Advice", "advice-autopilot")
    window.go(STEPS.index("Target"))
    tp.spins["size_mb"].setValue(0.2)
    window.go(STEPS.index("Advice"))
    wait(lambda: window.advice is not None and not window.busy)
    window.advice_page.add_technique("palettize", {"bits": 2})
    window.go(STEPS.index("Advice"))
    QTest.qWait(400)
    # The plan's cards at the top of the view (the autopilot picture above shows the page's head).
    scroll = window.advice_page.scroll
    plan = next((lb for lb in scroll.widget().findChildren(QLabel) if "The plan, in order" in lb.text()), None)
    if plan is not None:
        scroll.verticalScrollBar().setValue(plan.mapTo(scroll.widget(), plan.rect().topLeft()).y())
    shot("Advice")
    window.advice_page.run_button.click()
    wait(lambda: any(i.status == "running" for i in window.runs.items), 60)
    QTest.qWait(1500)
    shot("Run", "run-live")
    wait(lambda: not window.runs.active, 300)
    QTest.qWait(300)
    shot("Run")
    failed = [i for i in window.runs.items if i.status != "finished"]
    for i in failed:
        print(f"run {i.label}: {i.status} {i.error}")
    window.go(STEPS.index("Compare"))
    wait(lambda: not window.busy)
    compare = window.compare_page
    # What a candidate that changes answers looks like: the 2-bit palettization's changed answers as images.
    pal = next((r.id for r in compare.rows if r.label.startswith("palettize")), None)
    if pal:
        compare.select(pal)
        wait(lambda: not window.busy)
        shot("Compare", "compare-changes")
    # The main picture: the advisor's recommendation selected, with its "why this candidate" paragraph open.
    no_recommendation = compare.recommended_id is None
    if no_recommendation:
        print("no recommendation on the Compare page")
    compare.select(compare.recommended_id)
    compare.why_button.setChecked(True)
    wait(lambda: not window.busy)
    shot("Compare")
    compare.choose_button.click()  # ship the recommendation (one that misses a budget would ask first)
    wait(lambda: not window.busy)
    shot("Export")
    window.set_dirty(False)
    window.close()
    from shrinkwise.gui.app import dispose

    dispose(window)
    return 1 if failed or no_recommendation else 0


if __name__ == "__main__":
    sys.exit(main())
