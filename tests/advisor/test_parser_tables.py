"""rule-engine's parser tables come from the JSON cache in a new process, give the same advice, and a broken cache
file is ignored and rewritten (each case is a fresh interpreter: the cache matters only at `import rule_engine`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Loads every rule, parses a few expressions, and reports where the tables came from.
PROBE = """
import json
from shrinkwise.advisor import parser_tables  # first, as in the app: the package sets up the cache
import rule_engine
from shrinkwise.advisor.rules import load_rules
from shrinkwise.compression.catalog import load_catalog
rules = load_rules(load_catalog())
probe = [
    rule_engine.Rule("a > 1 and (b in ['x', 'y'] or not c)").matches({"a": 2, "b": "z", "c": False}),
    rule_engine.Rule("a ?? 3 == 3").matches({"a": None}),
    rule_engine.Rule("s =~ 'int[48]' ? a < 0.5 : a >= 2").evaluate({"s": "int4", "a": 0.25}),
]
print(json.dumps({"served": parser_tables._FINDER.served, "rules": len(rules), "probe": probe}))
"""


def _run(cache: Path) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stderr.strip() == ""  # PLY says nothing (it warns on stderr when a table file does not load)
    return json.loads(out.stdout.splitlines()[-1])


def test_the_second_process_reads_the_tables_and_advises_alike(tmp_path: Path) -> None:
    first = _run(tmp_path)
    files = list((tmp_path / "shrinkwise").glob("rule-engine-*-tables.json"))
    assert first["served"] is False and len(files) == 1  # built by PLY, then written once
    second = _run(tmp_path)
    assert second["served"] is True
    assert second["rules"] == first["rules"] and second["probe"] == first["probe"] == [True, True, True]


def test_a_broken_or_foreign_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    _run(tmp_path)
    file = next((tmp_path / "shrinkwise").glob("rule-engine-*-tables.json"))
    good = json.loads(file.read_text())
    for bad in ("{not json", json.dumps({**good, "action": {"0": {"NOT": "code()"}}}), json.dumps([1, 2])):
        file.write_text(bad)
        result = _run(tmp_path)
        assert result["served"] is False and result["probe"] == [True, True, True]
        assert json.loads(file.read_text()) == good  # rebuilt and written again
    file.write_text(json.dumps({**good, "signature": "another grammar"}))
    result = _run(tmp_path)  # PLY's own signature check refuses it and builds the tables
    assert result["probe"] == [True, True, True]
