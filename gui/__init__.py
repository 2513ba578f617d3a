"""The desktop app: windows over `workspace.session`. The only package that imports PySide6 and pyqtgraph."""
from __future__ import annotations

import sys


def _guard_singleton_refcounts() -> None:
    """Work around a PySide6 6.12 reference-count bug on CPython < 3.12.

    `SignalInstance.emit()` returns `True` without taking a reference (measured: every emit from Python lowers
    `sys.getrefcount(True)` by one), and some other calls do the same with `None`. Every Python-side emit — ours
    and pyqtgraph's, which emits on every view change — therefore drains the count until the interpreter aborts
    with "Fatal Python error: bool_dealloc" (after a few thousand emits: minutes of use, or at exit). CPython 3.12
    made these singletons immortal, which makes the bug harmless there; here we give them the same headroom once,
    at import. The objects are never freed anyway, so the extra count changes nothing else.
    """
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return  # immortal already, or a debug build whose object header differs
    import ctypes

    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt: the first field of every object
        if count.value < (1 << 40):
            count.value += 1 << 40


_guard_singleton_refcounts()
