"""Shrinkwise: compress a trained network for a device, guided by practitioners' lessons, on measured numbers.

One import package so nothing collides with the standard library (Python 3.14 adds `compression`) or with PyPI
packages named `rules`, `advisor` or `workspace`. The parts: `compression` (the engine), `advisor` (the rules),
`rules` (knowledge as data), `workspace` (project, session, reports, CLI) and `gui` (the desktop app).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shrinkwise")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
