"""How long does the UI thread stall while real compression runs? (`python -m bench.bench_ui_stall`)

A QTimer probe fires every 10 ms on the UI thread and records the gap since its previous tick. With an idle event
loop the gaps sit at ~10 ms; any work on the UI thread (or GIL contention from the run's driver thread) shows up as
longer gaps. Measured twice on the demo project, offscreen: idle (the window open on the Run page, nothing running)
and during real runs started the way the user starts them (fp16, int8_static, int8_dynamic, palettize queued from
the Advice page) with the Run page visible (progress bars, live plots at 20 Hz, the log).

Prints p50 / p99 / max of the gaps and the count of gaps over 50 ms and 100 ms. Numbers depend on the machine; the
table in bench/README.md was taken on the project's 2-core machine.
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

PROBE_MS = 10
TECHNIQUES = ("fp16", "int8_static", "int8_dynamic", "palettize")


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(name: str, gaps: list[float], seconds: float) -> str:
    return (
        f"{name:<22} {len(gaps):>6} ticks in {seconds:5.1f} s   p50 {percentile(gaps, 0.5):6.1f} ms   "
        f"p99 {percentile(gaps, 0.99):6.1f} ms   max {max(gaps):6.1f} ms   >50 ms: {sum(g > 50 for g in gaps):>3}   "
        f">100 ms: {sum(g > 100 for g in gaps):>3}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=1, help="queue the techniques this many times")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from shrinkwise.gui import dialogs
    from shrinkwise.gui.app import dispose
    from shrinkwise.gui.main_window import STEP_RUN, MainWindow
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo

    QApplication.instance() or QApplication([])
    dialogs.exec_dialog = lambda dialog: 0  # nothing modal offscreen
    folder = Path(tempfile.mkdtemp(prefix="shrinkwise-stall-"))
    build_demo(folder)
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1280, 800)
    window.show()
    window.open_project(folder / f"{DEMO_NAME}.shrinkwise.json")
    deadline = time.monotonic() + 60
    while (window.session is None or window.busy) and time.monotonic() < deadline:
        QTest.qWait(20)
    window.go(STEP_RUN)
    QTest.qWait(300)

    gaps: list[float] = []
    stamps: list[float] = []  # when each gap ended, ms since the measurement started
    clock = QElapsedTimer()
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(float(now - last[0]))
        stamps.append(float(now))
        last[0] = now

    probe = QTimer()
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(tick)

    def measure(until: callable, timeout: float) -> tuple[list[float], float]:  # type: ignore[valid-type]
        gaps.clear()
        stamps.clear()
        clock.start()
        last[0] = 0
        probe.start()
        t0 = time.monotonic()
        while not until() and time.monotonic() - t0 < timeout:
            QTest.qWait(50)  # the script's own wait: the probe measures the loop the app runs
        probe.stop()
        return list(gaps[1:]), time.monotonic() - t0

    idle_gaps, idle_s = measure(lambda: False, args.idle_seconds) if args.idle_seconds > 0 else ([], 0.0)
    started = {"done": False}

    def start() -> None:
        window.start_runs([{"steps": [{"technique": t, "config": {}}], "label": t} for t in TECHNIQUES * args.repeat])
        started["done"] = True

    QTimer.singleShot(0, start)
    run_gaps, run_s = measure(lambda: started["done"] and not window.runs.active, 600)
    run_stamps = stamps[1:]
    t0 = time.monotonic() - run_s
    statuses = [(i.label, i.status) for i in window.runs.items]
    print(f"UI-thread stalls, probe every {PROBE_MS} ms (gap between ticks; {PROBE_MS} ms = no stall)")
    if idle_gaps:
        print(summary("idle (Run page open)", idle_gaps, idle_s))
    print(summary(f"during {len(statuses)} runs", run_gaps, run_s))
    print("runs: " + ", ".join(f"{l} {s}" for l, s in statuses))
    if run_gaps:
        worst = max(range(len(run_gaps)), key=lambda i: run_gaps[i])
        at = run_stamps[worst] / 1000.0
        starts = ", ".join(f"{i.label} {i.started - t0:.1f} s" for i in window.runs.items if i.started is not None)
        print(f"worst gap ended {at:.2f} s into the runs; runs started at: {starts}")
    print(f"plot redraws: {window.run_page.redraws} in {run_s:.1f} s (throttled to <= 20 Hz)")
    window.set_dirty(False)
    window.close()
    dispose(window)
    return 0 if all(s == "finished" for _, s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
