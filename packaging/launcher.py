"""Entry point of the PyInstaller bundle: `shrinkwise ...` exactly as the console script, plus two bundle-only duties.

1. A frozen app has no Python interpreter, yet the engine starts helper processes as `sys.executable -m MODULE ...`
   (the runner's worker) and `sys.executable -c CODE ...` (the memory probe). In the bundle `sys.executable` is this
   program, so it answers those two forms itself, the way `python` would.
2. GUI smoke test without a display: with SHRINKWISE_SMOKE_QUIT_MS=N set, `shrinkwise gui ...` quits N ms after the
   event loop starts, printing one line per visible top-level window (`smoke: window 'TITLE' WxH`) and, if
   SHRINKWISE_SMOKE_SCREENSHOT=PATH is set, saving the main window as a PNG. It exits 0 only if a window was shown.
   This lives here, not in gui/, because it is packaging code: the app itself knows nothing about it.

The same file runs from a source tree (`python packaging/launcher.py --version`), which is how its tests run it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

SMOKE_ENV = "SHRINKWISE_SMOKE_QUIT_MS"
SCREENSHOT_ENV = "SHRINKWISE_SMOKE_SCREENSHOT"


def _run_python_form(argv: Sequence[str]) -> int:
    """Behave like `python -m MODULE ARGS` or `python -c CODE ARGS` (only these two forms are needed)."""
    import runpy

    flag, target, rest = argv[0], argv[1], list(argv[2:])
    try:
        if flag == "-m":
            sys.argv = [target, *rest]  # runpy replaces argv[0] with the module's file
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *rest]
            code = compile(target, "<string>", "exec")
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - python -c semantics
    except SystemExit as exc:  # sys.exit(n) inside the module: keep its code, as python does
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    return 0


def _install_smoke_quit(delay_ms: int) -> None:
    """Make the next QApplication.exec() quit after `delay_ms`, reporting what was on screen."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    original_exec = QApplication.exec
    state = {"windows": 0}

    def report_and_quit() -> None:
        app = QApplication.instance()
        shot = os.environ.get(SCREENSHOT_ENV)
        for widget in app.topLevelWidgets():  # type: ignore[union-attr]
            if widget.isVisible() and widget.isWindow():
                state["windows"] += 1
                print(f"smoke: window {widget.windowTitle()!r} {widget.width()}x{widget.height()}", flush=True)
                if shot and state["windows"] == 1:
                    ok = widget.grab().save(shot)
                    print(f"smoke: screenshot {shot} {'saved' if ok else 'NOT saved'}", flush=True)
        app.quit()  # type: ignore[union-attr]

    def exec_then_quit(*_self):  # type: ignore[no-untyped-def]  # called as app.exec() or QApplication.exec()
        QTimer.singleShot(delay_ms, report_and_quit)
        code = original_exec()  # static in Qt: takes no instance
        print(f"smoke: event loop ended with {code}, {state['windows']} window(s) shown", flush=True)
        return code if state["windows"] else 3

    QApplication.exec = exec_then_quit  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] in ("-m", "-c"):
        return _run_python_form(argv)
    smoke_ms = os.environ.get(SMOKE_ENV)
    if smoke_ms and argv[:1] == ["gui"]:
        _install_smoke_quit(int(smoke_ms))

    from shrinkwise.workspace.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a no-op unless frozen; torch or a library may use multiprocessing
    sys.exit(main())
