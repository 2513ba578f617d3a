"""Test-wide settings: Qt must never look for a display (it aborts the process without one)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
