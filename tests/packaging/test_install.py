"""A non-editable install into a fresh virtual environment works on its own: no source tree, no dev extras.

The venv gets the pinned CPU torch first (a local wheel), then the repository as a regular (non-editable) install,
exactly as a user's `pip install .` or `pipx install .`. Everything then runs from a folder outside the repository
with PYTHONPATH cleared, so the package data (rules, technique catalog, demo model and data) can only come from the
venv's site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TORCH_PIN = "torch==2.13.0"  # the local CPU wheel; anything else pulls a multi-GB CUDA build


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600, retries: int = 0
) -> subprocess.CompletedProcess[str]:
    for attempt in range(retries + 1):
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 0:
            return proc
        if attempt < retries:  # a network hiccup while pip talks to the index
            time.sleep(5)
    raise AssertionError(
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )


@pytest.mark.slow
def test_non_editable_install_runs_demo_from_site_packages(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = _clean_env(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "home" / "data"),
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
    )
    _run([sys.executable, "-m", "venv", venv], cwd=outside, env=env)
    py = venv / "bin" / "python"
    pip = [py, "-m", "pip", "install", "-q"]
    _run([*pip, TORCH_PIN], cwd=outside, env=env, retries=1)
    # A copy of the checkout without build outputs: setuptools builds in-tree and never cleans build/lib, so a stale
    # file there (a deleted rule, say) would end up in the wheel and hide a packaging bug.
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".import_linter_cache"
        ),
    )
    _run([*pip, source], cwd=outside, env=env, retries=1)  # non-editable, no extras

    # Installed as a regular distribution, not as a link back to the source tree.
    listing = _run([py, "-m", "pip", "list", "--format=json", "--editable"], cwd=outside, env=env).stdout
    assert all(p["name"].lower() != "shrinkwise" for p in json.loads(listing)), "shrinkwise was installed editable"
    dev_only = _run(
        [py, "-c", "import importlib.util as u; print(u.find_spec('pytest') is None)"], cwd=outside, env=env
    )
    assert dev_only.stdout.strip() == "True", "dev extras leaked into the install"

    shrinkwise = venv / "bin" / "shrinkwise"
    version = _run([shrinkwise, "--version"], cwd=outside, env=env).stdout
    assert version.startswith("shrinkwise 0.") and "unknown" not in version, version

    demo_dir = outside / "demo"
    out = _run([shrinkwise, "demo", "--out", demo_dir], cwd=outside, env=env).stdout
    project = demo_dir / "digits-demo.shrinkwise.json"
    assert project.is_file(), out
    assert "baseline: accuracy" in out
    assert (demo_dir / "model" / "digits_cnn.py").is_file() and (demo_dir / "model" / "digits_cnn.pt").is_file()

    techniques = _run(
        [shrinkwise, "techniques"], cwd=outside, env=env
    ).stdout  # reads shrinkwise/compression/catalog.toml
    assert "int8_static" in techniques

    # One import package: `import shrinkwise` works, and none of the old top-level names is installed.
    names = "import importlib.util, shrinkwise; print([n for n in ('compression', 'advisor', 'workspace', 'gui', 'rules') if importlib.util.find_spec(n)])"
    assert _run([venv / "bin" / "python", "-c", names], cwd=outside, env=env).stdout.strip() == "[]"

    # Every data file the program reads comes from the venv, through package resources.
    probe = r"""
import json, sys
from importlib import resources
import shrinkwise.compression as compression, shrinkwise.compression.demo as demo, shrinkwise.rules as rules, shrinkwise.workspace.cli as cli
from shrinkwise.compression.demo import demo_file
rule_files = sorted(str(p.relative_to(resources.files("shrinkwise.rules"))) for p in __import__("pathlib").Path(str(resources.files("shrinkwise.rules"))).rglob("*.yaml"))
print(json.dumps({
    "compression": compression.__file__, "demo": demo.__file__, "rules": rules.__file__,
    "cli": cli.__file__, "catalog": str(resources.files("shrinkwise.compression") / "catalog.toml"),
    "demo_files": [str(demo_file(n)) for n in ("digits.npz", "digits_cnn.pt", "digits_cnn.py")],
    "rule_files": rule_files, "prefix": sys.prefix,
}))
"""
    info = json.loads(_run([py, "-c", probe], cwd=outside, env=env).stdout)
    site = (venv / "lib").resolve()
    paths = [info["compression"], info["demo"], info["rules"], info["cli"], info["catalog"], *info["demo_files"]]
    for p in paths:
        assert Path(p).resolve().is_relative_to(site), f"{p} is not under the venv's {site}"
        assert Path(p).is_file(), p
    assert not any(Path(p).resolve().is_relative_to(REPO) or Path(p).resolve().is_relative_to(source) for p in paths)
    source_rules = sorted(str(p.relative_to(REPO / "rules")) for p in (REPO / "rules").rglob("*.yaml"))
    assert "limits.yaml" in info["rule_files"]
    missing = set(source_rules) - set(info["rule_files"])
    assert not missing, f"rule files not shipped in the wheel: {sorted(missing)}"

    # The GUI's modules import from the install (PySide6-Essentials and pyqtgraph came as dependencies).
    _run([py, "-c", "import shrinkwise.gui.main_window, shrinkwise.gui.app"], cwd=outside, env=env)
