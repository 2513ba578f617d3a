"""Start the desktop app: `run_app(project=None, demo=False)` (used by `shrinkwise gui`) or `python -m gui`."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

ORGANIZATION = "Shrinkwise"
APPLICATION = "Shrinkwise"


def _install_excepthook(window: object) -> None:
    """Exceptions that escape a slot end in a dialog, never silently on stderr only."""
    from shrinkwise.gui import dialogs

    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(text)
        try:
            dialogs.show_error(window if hasattr(window, "isVisible") else None, exc, text)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - never recurse from the hook
            previous(kind, exc, tb)

    sys.excepthook = hook


def start(
    project: Path | str | None = None, demo: bool = False, argv: list[str] | None = None, settings: Any = None
) -> Any:
    """Create the application (once) and the main window, shown, with the project or the demo being opened."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from shrinkwise.gui.main_window import MainWindow

    if QApplication.instance() is None:  # sharp text on fractional scale factors (125 %, 150 %)
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow(settings=settings)
    _install_excepthook(window)
    window.show()
    if demo:
        window.open_demo()
    elif project is not None:
        window.open_project(Path(project))
    return window


def check_display() -> None:
    """Qt aborts the whole process (a core dump, no message) when Linux has no display; say it in one line instead."""
    import os
    import sys

    from shrinkwise.compression.errors import ShrinkwiseError

    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        raise ShrinkwiseError(
            "there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set)",
            fix="run it from a desktop session, use the shrinkwise commands headless, or set QT_QPA_PLATFORM=offscreen",
        )


# The X11 libraries Qt's xcb platform plugin loads that a bare Linux lacks (soname -> Debian/Ubuntu package).
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
}


def _loadable(soname: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(soname)  # what the plugin's dlopen will do, LD_LIBRARY_PATH included (find_library ignores it)
    except OSError:
        return False
    return True


def check_xcb_libraries(loadable: Any = None) -> None:
    """Qt's own message for a missing xcb library blames libxcb-cursor0 whatever is missing; name the real ones."""
    import os

    loadable = loadable or _loadable

    from shrinkwise.compression.errors import ShrinkwiseError

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    wayland = bool(os.environ.get("WAYLAND_DISPLAY")) and not platform
    if not sys.platform.startswith("linux") or platform not in ("", "xcb") or wayland:
        return
    missing = [package for soname, package in XCB_LIBRARIES.items() if not loadable(soname)]
    if missing:
        raise ShrinkwiseError(
            f"Qt needs X11 libraries that are not installed ({', '.join(missing)})",
            fix=f"sudo apt-get install -y {' '.join(missing)} (other distributions: the xcb-util packages)",
        )


def run_app(project: Path | str | None = None, demo: bool = False, argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    check_display()
    check_xcb_libraries()
    window = start(project, demo, argv)
    code = QApplication.instance().exec()  # type: ignore[union-attr]
    dispose(window)
    return code


def dispose(window: Any) -> None:
    """Delete the window's C++ side while Qt is still alive, not in the interpreter's final garbage collection
    (where the order of destruction is arbitrary)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
