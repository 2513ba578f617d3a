"""The advisor stays pure: it imports no torch, onnx, onnxruntime, Qt, engine or workspace, and the lessons index
agrees with the digest when the digest is at hand."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from shrinkwise.advisor.coverage import load_lessons

ROOT = Path(__file__).parents[2]
DIGEST = Path("/work/shared/knowledge/lessons.md")


def test_advisor_imports_nothing_forbidden() -> None:
    code = (
        "import importlib, pkgutil, sys, shrinkwise.advisor as advisor\n"
        "for m in pkgutil.iter_modules(advisor.__path__): importlib.import_module('shrinkwise.advisor.' + m.name)\n"
        "from shrinkwise.advisor.engine import advise\n"
        "from shrinkwise.advisor.facts import Facts\n"
        "import tomllib\n"
        "manifest = tomllib.loads(open('shrinkwise/compression/catalog.toml', encoding='utf-8').read())['techniques']\n"
        "advise(Facts(target_id='phone-npu'), manifest)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime', 'PySide6', 'pyqtgraph') "
        "or m.startswith(('shrinkwise.compression', 'shrinkwise.workspace', 'shrinkwise.gui')))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not DIGEST.exists(), reason="the shared lessons digest is not on this machine")
def test_lessons_index_matches_the_digest() -> None:
    in_digest = set(re.findall(r"\*\*(L-[A-Z]+-\d\d)\.", DIGEST.read_text(encoding="utf-8")))
    assert in_digest == {l.id for l in load_lessons()}
