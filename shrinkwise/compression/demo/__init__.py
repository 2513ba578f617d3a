"""The bundled demo: a small CNN trained on scikit-learn's 8x8 handwritten digits (1,797 images).

`digits.npz` (the images and labels) and `digits_cnn.pt` (a state dict) are made by `train_digits.py`, a
deterministic script; both are small and shipped with the package so that the demo works offline.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

ARCHITECTURE_FILE = "digits_cnn.py"
ARCHITECTURE_CLASS = "DigitsCNN"


def demo_file(name: str) -> Path:
    """Path of a shipped demo file (works for editable and regular installs)."""
    return Path(str(resources.files("shrinkwise.compression.demo").joinpath(name)))
