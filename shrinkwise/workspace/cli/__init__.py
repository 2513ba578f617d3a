"""The `shrinkwise` command line: the same session the GUI drives, from a terminal.

Each `commands_*.py` module adds its sub-commands through `register(subparsers)`; handlers return an exit code.
A `ShrinkwiseError` becomes one line on stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shrinkwise.compression.errors import ShrinkwiseError

# One module per group of commands; each must stay cheap to import (no torch at module level).
COMMAND_MODULES = [
    "shrinkwise.workspace.cli.commands_project",
    "shrinkwise.workspace.cli.commands_setup",
    "shrinkwise.workspace.cli.commands_report",
    "shrinkwise.workspace.cli.commands_runs",
    "shrinkwise.workspace.cli.commands_advisor",
]


def build_parser() -> argparse.ArgumentParser:
    from shrinkwise.workspace.versions import shrinkwise_version

    parser = argparse.ArgumentParser(
        prog="shrinkwise",
        description="Compress a trained neural network for a device, with reasons, real runs and a report.",
    )
    parser.add_argument("--version", action="version", version=f"shrinkwise {shrinkwise_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ShrinkwiseError as exc:
        print(f"shrinkwise: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shrinkwise: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
