"""rule-engine's parser tables, kept as JSON in the user cache folder so a new process does not rebuild them.

Why: `import rule_engine` builds its PLY parser's LALR tables from the grammar every time (rule-engine turns PLY's
own table file off), which was 0.35-0.5 s of the time to first advice in every new process (`shrinkwise advise`,
the window's first advice). PLY reads finished tables from a `parsetab` module when one can be imported and its
grammar signature equals the grammar's; this module answers that import from a JSON file instead of Python code,
so the cache never runs anything. A missing, foreign or broken file is ignored and PLY builds the tables as
before; a file from another grammar fails PLY's signature check and is rebuilt the same way. The file is keyed by
rule-engine's version and written once, atomically, after the first build.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

# PLY resolves rule-engine's table module to this name (the parser's package + "parsetab").
TABLE_MODULE = "rule_engine.parser.parsetab"
_FORMAT = 1


def _cache_file() -> Path | None:
    try:
        from importlib.metadata import version

        import platformdirs

        return Path(platformdirs.user_cache_dir("shrinkwise")) / f"rule-engine-{version('rule-engine')}-tables.json"
    except Exception:  # noqa: BLE001 - no cache folder or no metadata: build the tables as before
        return None


def _int_keyed(table: Any) -> dict[int, dict[str, int | None]]:
    """JSON object keys are strings; PLY's tables are keyed by state number (None: a nonassoc error entry)."""
    if not isinstance(table, dict):
        raise ValueError("not a table")
    out: dict[int, dict[str, int | None]] = {}
    for state, row in table.items():
        if not isinstance(row, dict) or not all(
            isinstance(k, str) and (v is None or type(v) is int) for k, v in row.items()
        ):
            raise ValueError("not a table row")
        out[int(state)] = row
    return out


def _module_from(data: Any) -> types.ModuleType:
    """A stand-in for PLY's generated parsetab.py, from the JSON written by `save`; ValueError when malformed."""
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError("not a table file of this format")
    productions = data["productions"]
    if not isinstance(productions, list) or not all(
        isinstance(p, list)
        and len(p) == 6
        and isinstance(p[0], str)
        and isinstance(p[1], str)
        and type(p[2]) is int
        and (p[3] is None or isinstance(p[3], str))
        and (p[4] is None or isinstance(p[4], str))
        and type(p[5]) is int
        for p in productions
    ):
        raise ValueError("malformed productions")
    if not all(isinstance(data.get(k), str) for k in ("tabversion", "method", "signature")):
        raise ValueError("malformed header")
    module = types.ModuleType(TABLE_MODULE)
    module._tabversion = data["tabversion"]  # type: ignore[attr-defined]
    module._lr_method = data["method"]  # type: ignore[attr-defined]
    module._lr_signature = data["signature"]  # type: ignore[attr-defined]
    module._lr_action = _int_keyed(data["action"])  # type: ignore[attr-defined]
    module._lr_goto = _int_keyed(data["goto"])  # type: ignore[attr-defined]
    module._lr_productions = [tuple(p) for p in productions]  # type: ignore[attr-defined]
    return module


class _TableFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers only `TABLE_MODULE`, and only when the cache file reads as a well-formed table."""

    def __init__(self) -> None:
        self.served = False
        self.missed = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TABLE_MODULE:
            return None
        file = _cache_file()
        try:
            assert file is not None
            self._module = _module_from(json.loads(file.read_text(encoding="utf-8")))
        except Exception:  # noqa: BLE001 - any unreadable cache: PLY builds the tables itself
            self.missed = True
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.served = True
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_FINDER = _TableFinder()


def install() -> None:
    """Before rule-engine is imported: let PLY find cached tables (no file is read until PLY asks)."""
    if _FINDER not in sys.meta_path and "rule_engine" not in sys.modules:
        sys.meta_path.insert(0, _FINDER)


def save() -> None:
    """After `import rule_engine`: when PLY had to build the tables in this process, write them for the next one."""
    if not _FINDER.missed or _FINDER.served:
        return
    _FINDER.missed = False
    try:
        import rule_engine
        from rule_engine._vendor.ply import yacc  # the PLY copy rule-engine ships and builds with

        parser = rule_engine.Rule.parser
        lr = parser._parser
        pdict = {k: getattr(parser, k) for k in dir(parser)}
        reflect = yacc.ParserReflect(pdict, log=yacc.NullLogger())
        reflect.get_all()
        data = {
            "format": _FORMAT,
            "tabversion": yacc.__tabversion__,
            "method": "LALR",
            "signature": reflect.signature(),
            "action": lr.action,
            "goto": lr.goto,
            "productions": [[p.str, p.name, p.len, p.func, p.file, p.line] for p in lr.productions],
        }
        _module_from(json.loads(json.dumps(data)))  # what the next process will read must read back
        file = _cache_file()
        if file is None:
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, file)  # atomic: a reader sees the old file or the whole new one
        finally:
            Path(tmp).unlink(missing_ok=True)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs the next process the build
        return
