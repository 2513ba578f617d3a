"""Architecture boundaries: import-linter contracts, and start-up paths that never load torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_advisor_workspace_gui_do_not_import_torch() -> None:
    code = (
        "import sys, shrinkwise.advisor, shrinkwise.workspace.session, shrinkwise.workspace.project, shrinkwise.gui\n"
        "import shrinkwise.workspace.cli as c; c.build_parser()\n"
        "heavy = [m for m in ('torch', 'onnxruntime') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
