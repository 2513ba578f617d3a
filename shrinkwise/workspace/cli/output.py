"""What the CLI writes: tables through rich, JSON documents, and errors in either form.

rich (rather than hand-aligned f-strings) sizes columns to their content, and it detects a pipe or a file: no colour,
no control codes, and a wide fixed width so that piped tables are not wrapped at 80 columns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

# Piped or redirected output is read by tools and people with wide editors: don't wrap it at rich's default 80.
PIPED_WIDTH = 200


def console(stream: IO[str] | None = None) -> Any:
    """A rich Console on `stream` (stdout by default), plain and wide when it is not a terminal."""
    from rich.console import Console

    stream = stream or sys.stdout
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return Console(file=stream, width=None if tty else PIPED_WIDTH, no_color=not tty, highlight=False, soft_wrap=False)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> Any:
    """A rich Table; a column name ending in '>' is right-aligned (numbers), e.g. 'params>'."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    for name in columns:
        right = name.endswith(">")
        t.add_column(name.rstrip(">"), justify="right" if right else "left", no_wrap=True)
    for row in rows:  # Text, not markup: a cell such as "[host]" must print as written
        t.add_row(*(Text("-" if v is None else str(v)) for v in row))
    return t


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    out = console()
    with out.capture() as captured:
        out.print(table(columns, rows, title))
    # rich pads every cell to its column's width; trailing blanks only get in the way of grep, diff and editors.
    sys.stdout.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")


def print_json(data: Any) -> None:
    """One JSON document on stdout (pydantic models are dumped in JSON mode first)."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def error_payload(exc: BaseException) -> dict[str, Any]:
    """`{"error", "file", "fix"}` for a ShrinkwiseError (the parts it was built from), else the message alone."""
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return {"error": message, "file": getattr(exc, "path", None), "fix": getattr(exc, "fix", None)}
