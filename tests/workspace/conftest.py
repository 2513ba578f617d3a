"""A demo project built once per test session and copied for each test that changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shrinkwise.workspace.demo import build_demo

    out = tmp_path_factory.mktemp("demo-template")
    build_demo(out)
    return out


@pytest.fixture
def demo_project(demo_template: Path, tmp_path: Path) -> Path:
    """Path of a fresh copy of the demo project file."""
    dest = tmp_path / "demo"
    shutil.copytree(demo_template, dest)
    return next(dest.glob("*.shrinkwise.json"))
