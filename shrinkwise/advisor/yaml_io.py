"""One YAML reader for the rules, targets and limits: libyaml's C loader where PyYAML was built with it.

Why: the advisor reads ~110 rule files before its first advice; the pure-Python safe loader took 0.6 s of the
time to first advice on this machine, the C loader a fraction of it. Both are *safe* loaders (no Python objects).
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
