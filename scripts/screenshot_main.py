"""Open the demo project offscreen and save a PNG of the main window.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_main.py out.png [--step Start|Model|Target|Data|Advice|Run|Compare|Export]

(`scripts/screenshots.py` walks the whole wizard and saves every page.)
        [--demo-dir DIR] [--size 1024x700] [--tab "Advisor's reading"]

The demo is built into a temporary folder (or DIR, reused when it already holds the project).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--step", default="Model")
    parser.add_argument("--demo-dir", type=Path)
    parser.add_argument(
        "--size", default="1024x700"
    )  # the smallest window the app is made to fit, as scripts/screenshots.py
    parser.add_argument("--filter", default="", help="type this into the layer filter first")
    parser.add_argument("--tab", default="", help="on Compare: open the detail tab of this title first")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from shrinkwise.gui.main_window import STEPS, MainWindow
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo

    app = QApplication.instance() or QApplication([])
    folder = args.demo_dir or Path(tempfile.mkdtemp(prefix="shrinkwise-shot-"))
    project = folder / f"{DEMO_NAME}.shrinkwise.json"
    if not project.exists():
        build_demo(folder)
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()
    window.open_project(project)
    deadline = time.monotonic() + 60
    while (window.busy or window.session is None) and time.monotonic() < deadline:
        app.processEvents()  # a script, not the app: waiting for the worker here is fine
        time.sleep(0.02)
    legacy = {"Project": "Start", "Baseline": "Target"}
    window.steps.setCurrentRow(STEPS.index(legacy.get(args.step, args.step)))
    if args.filter:
        window.profile_view.filter_edit.setText(args.filter)
    if args.tab:
        tabs = window.compare_page.tabs
        titles = [tabs.tabText(i) for i in range(tabs.count())]
        if args.tab not in titles:
            parser.error(f"--tab: no Compare tab named {args.tab!r} (tabs: {', '.join(titles)})")
        tabs.setCurrentIndex(titles.index(args.tab))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(args.out))
    print(f"saved {args.out}" if ok else f"could not save {args.out}")
    window.set_dirty(False)
    window.close()
    from shrinkwise.gui.app import dispose

    dispose(window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
