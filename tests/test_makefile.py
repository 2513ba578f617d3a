"""The Makefile's torch install: the CPU index on Linux without a GPU, plain PyPI otherwise, and a fallback.

A fake `python` in a throw-away VENV records each pip call, so nothing is installed and nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("make") is None, reason="needs make on Linux"
)

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "{log}"
case "$*" in *--index-url*) [ -n "$FAIL_INDEX" ] && exit 1 ;; esac
exit 0
"""


def make_venv(tmp_path: Path, *make_args: str, gpu: bool = False, fail_index: bool = False) -> tuple[str, list[str]]:
    venv, log = tmp_path / "venv", tmp_path / "pip.log"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(log=log))
    python.chmod(0o755)
    tools = tmp_path / "tools"
    tools.mkdir()
    if gpu:
        (tools / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
        (tools / "nvidia-smi").chmod(0o755)
    path = os.pathsep.join(
        [str(tools)] + [p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "nvidia-smi").exists()]
    )
    env = {k: v for k, v in os.environ.items() if k != "TORCH_INDEX_URL"}
    env.update(PATH=path, FAIL_INDEX="1" if fail_index else "")
    done = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", "venv", *make_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, log.read_text().splitlines()


def torch_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if "torch==" in c]


def test_linux_without_gpu_uses_the_cpu_index_with_a_short_timeout(tmp_path: Path) -> None:
    out, calls = make_venv(tmp_path)
    (call,) = torch_calls(calls)
    assert f"--index-url {CPU_INDEX}" in call and "--retries 0" in call and "torch==2.13.0" in call
    assert calls[-1].startswith("-m pip install -q -e .[dev]")  # the project after torch
    assert "source" in out and "activate" in out  # the hint


def test_unreachable_index_falls_back_to_the_default_index(tmp_path: Path) -> None:
    out, calls = make_venv(tmp_path, fail_index=True)
    first, second = torch_calls(calls)
    assert CPU_INDEX in first and "--index-url" not in second and "torch==2.13.0" in second
    assert "unreachable" in out


@pytest.mark.parametrize(("args", "gpu"), [((), True), (("TORCH_INDEX_URL=",), False)])
def test_gpu_or_an_empty_index_variable_means_plain_pypi(tmp_path: Path, args: tuple[str, ...], gpu: bool) -> None:
    _, calls = make_venv(tmp_path, *args, gpu=gpu)
    (call,) = torch_calls(calls)
    assert "--index-url" not in call
