"""The `shrinkwise` command line: the same session the GUI drives, from a terminal.

Each `commands_*.py` module adds its sub-commands through `register(subparsers)`; handlers return an exit code.
Conventions every command shares (added here, so no command can miss them):
- `--json`: the result as one JSON document on stdout; errors too, as `{"error", "file", "fix"}` (exit 2).
- `-q/--quiet` (no progress, no warnings) and `-v/--verbose` (every worker log line), before or after the command.
- A `ShrinkwiseError` becomes one line on stderr and exit code 2 — never a traceback.
- Output piped into `head` ends quietly when the reader goes away (no BrokenPipeError traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from shrinkwise.compression.errors import ShrinkwiseError

# One module per group of commands; each must stay cheap to import (no torch at module level).
COMMAND_MODULES = [
    "shrinkwise.workspace.cli.commands_project",
    "shrinkwise.workspace.cli.commands_setup",
    "shrinkwise.workspace.cli.commands_report",
    "shrinkwise.workspace.cli.commands_runs",
    "shrinkwise.workspace.cli.commands_advisor",
    "shrinkwise.workspace.cli.commands_autopilot",
]

GLOBAL_FLAGS = {
    "json": ("--json",),
    "quiet": ("-q", "--quiet"),
    "verbose": ("-v", "--verbose"),
}
GLOBAL_HELP = {
    "json": "print the result (or the error) as JSON on stdout",
    "quiet": "no progress and no warnings; only the result and errors",
    "verbose": "also show every log line of the worker process",
}


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors as JSON too when `--json` is on the command line."""

    json_requested = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_requested:
            from shrinkwise.workspace.cli.output import print_json

            print_json({"error": message, "file": None, "fix": f"see '{self.prog} --help'"})
            self.exit(2)
        super().error(message)


def _add_global_flags(p: argparse.ArgumentParser, dest_prefix: str = "") -> None:
    """--json/--quiet/--verbose on `p`, skipping an option a command already declares itself."""
    group = p.add_mutually_exclusive_group()
    for name, flags in GLOBAL_FLAGS.items():
        own = next((p._option_string_actions[f] for f in flags if f in p._option_string_actions), None)
        if own is not None:
            own.help = own.help or GLOBAL_HELP[name]
            continue
        target = group if name in ("quiet", "verbose") else p
        target.add_argument(*flags, dest=dest_prefix + name, action="store_true", help=GLOBAL_HELP[name])


def build_parser() -> argparse.ArgumentParser:
    from shrinkwise.workspace.versions import shrinkwise_version

    parser = _Parser(
        prog="shrinkwise",
        description="Compress a trained neural network for a device, with reasons, real runs and a report.",
        epilog="'shrinkwise COMMAND --help' explains a command's arguments. Every command takes --json, -q and -v.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"shrinkwise {shrinkwise_version()}")
    # On the main parser under other names: a sub-command's own default must not overwrite `shrinkwise --json CMD`.
    _add_global_flags(parser, dest_prefix="global_")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():
        _add_global_flags(command)
    return parser


def _merge_global_flags(args: argparse.Namespace) -> None:
    for name in GLOBAL_FLAGS:
        setattr(args, name, bool(getattr(args, name, False) or getattr(args, "global_" + name, False)))
    if args.quiet and args.verbose:
        raise ShrinkwiseError("--quiet and --verbose contradict each other", fix="give one of them")


def _stdout_gone() -> int:
    """The reader of our stdout left (`| head`): point stdout at devnull so the final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # what a shell reports for a process ended by SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_requested = "--json" in argv
    as_json = _Parser.json_requested
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        _merge_global_flags(args)
        as_json = args.json
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except ShrinkwiseError as exc:
        return _report_error(exc, as_json)
    except KeyboardInterrupt:
        print("shrinkwise: interrupted", file=sys.stderr)
        return 130


def _report_error(exc: ShrinkwiseError, as_json: bool) -> int:
    try:
        if as_json:
            from shrinkwise.workspace.cli.output import error_payload, print_json

            print_json(error_payload(exc))
            sys.stdout.flush()
        else:
            print(f"shrinkwise: error: {exc}", file=sys.stderr)
    except BrokenPipeError:
        _stdout_gone()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
