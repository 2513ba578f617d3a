"""`python -m gui [PROJECT] [--demo]`: open the desktop app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shrinkwise.gui.app import run_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui", description="Open the Shrinkwise desktop app")
    parser.add_argument("project", type=Path, nargs="?")
    parser.add_argument("--demo", action="store_true", help="open the demo project (built on first use)")
    args = parser.parse_args(argv)
    return run_app(project=args.project, demo=args.demo)


if __name__ == "__main__":
    sys.exit(main())
