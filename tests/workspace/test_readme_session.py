"""The README's CLI session, run verbatim (as `scripts/readme_session.sh` extracts it) against the installed .venv.

HOME points at a temporary folder, so `~/sw-demo` and the user data folder land there. This is the part of
`scripts/fresh_clone_check.sh` that CI runs with every `make test`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
ACTIVATE = ROOT / ".venv" / "bin" / "activate"


def readme_session() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "readme_session.sh"), str(ROOT / "README.md")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_session_is_found_and_uses_only_shrinkwise() -> None:
    lines = [l for l in readme_session().splitlines() if l.strip()]
    assert lines[0].startswith(". .venv/bin/activate")
    assert len(lines) >= 8 and all(l.startswith("shrinkwise ") for l in lines[1:])


@pytest.mark.slow
@pytest.mark.skipif(not ACTIVATE.exists(), reason="needs the .venv that `make` installs")
def test_readme_session_runs_verbatim(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / ".local" / "share"))
    done = subprocess.run(
        ["bash", "-e", "-c", readme_session()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    demo = tmp_path / "sw-demo"
    assert (demo / "report.html").stat().st_size > 10_000
    # The sweep's three candidates and the sensitivity run are recorded and show up in results.
    assert done.stdout.count(": finished — size") == 3
    assert "proposal: keep in float:" in done.stdout and "pareto" in done.stdout
    assert "Traceback" not in done.stderr
