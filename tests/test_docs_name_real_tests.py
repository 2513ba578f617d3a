"""Every test the docs name (`tests/...py::name`) exists, and every guarantee in docs/guarantees.md names one.

A renamed or moved test would otherwise leave a promise in the docs pointing at nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"`(tests/[\w/.-]+\.py)::(\w+)`")


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def test_every_test_named_in_the_docs_exists() -> None:
    docs = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    named = [(doc, m.group(1), m.group(2)) for doc in docs for m in NAMED.finditer(doc.read_text())]
    assert len(named) >= 30  # the pattern still matches how the docs name tests
    missing = [
        f"{doc.relative_to(ROOT)}: {f}::{name}"
        for doc, f, name in named
        if not (ROOT / f).is_file() or name not in _defined(ROOT / f)
    ]
    assert missing == []


def test_every_guarantee_names_its_tests_in_full() -> None:
    rows = [
        line
        for line in (ROOT / "docs" / "guarantees.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith(("| guarantee ", "|---"))
    ]
    assert len(rows) >= 15
    for row in rows:
        tests = row.rstrip(" |").rsplit(" | ", 1)[-1]
        assert NAMED.search(tests), f"no test named in full: {row[:80]}"
        assert "same test" not in tests and "`::" not in tests, f"a test named by reference only: {row[:80]}"
