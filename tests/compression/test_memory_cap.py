"""A run's memory is capped: past the worker's address-space limit it fails in one line that names the limit.

The model here is tiny on disk but asks ONNX Runtime for one huge tensor at run time (ConstantOfShape), the shape
of the "2 MB file that inflates to gigabytes" problem; the same job with a small tensor finishes under the same cap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from shrinkwise.compression.events import ErrorEvent
from shrinkwise.compression.jobs import Job, JobStep
from shrinkwise.compression.runner import (
    GB,
    MEMORY_LIMIT_ENV,
    Run,
    default_memory_limit,
    memory_limit_from_gb,
    resolve_memory_limit,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is applied on Linux only")
CAP = 1 * GB  # the worker's imports take ~0.25 GB of address space; ONNX Runtime's session some more


def _balloon(path: Path, floats: int) -> Path:
    """y = x + sum(zeros(floats)): the zeros are allocated at run time, `floats` × 4 bytes."""
    shape = helper.make_tensor("n", TensorProto.INT64, [1], [floats])
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["n"], ["zeros"]),
            helper.make_node("ReduceSum", ["zeros"], ["total"], keepdims=0),
            helper.make_node("Add", ["x", "total"], ["y"]),
        ],
        "balloon",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _job(tmp_path: Path, floats: int, name: str) -> Job:
    folder = tmp_path / name
    folder.mkdir()
    evaluation = folder / "evaluation.npz"
    np.savez(evaluation, x=np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32))
    return Job(
        original_onnx=str(_balloon(folder / "m.onnx", floats)),
        out_dir=str(folder / "out"),
        steps=[JobStep(technique="fp16")],
        input_names=["x"],
        evaluation=str(evaluation),
        latency_seconds=0.2,
        measure_memory=False,
        memory_limit_bytes=CAP,
    )


@linux_only
def test_a_run_over_its_memory_limit_fails_in_one_line_naming_it(tmp_path: Path) -> None:
    job = _job(tmp_path, 2**30, "big")  # 4 GiB of zeros, four times the cap
    outcome = Run(job, Path(job.out_dir) / "job.json", time_limit_s=120).start().wait()
    assert outcome.status == "failed"
    assert outcome.error is not None and "\n" not in outcome.error
    assert outcome.error.startswith("the run needed more than 1 GB of memory"), outcome.error
    assert "--memory-limit" in outcome.error


@linux_only
def test_the_same_run_with_a_small_tensor_finishes_under_the_same_cap(tmp_path: Path) -> None:
    job = _job(tmp_path, 1024, "small")
    outcome = Run(job, Path(job.out_dir) / "job.json", time_limit_s=120).start().wait()
    assert outcome.status == "finished", outcome.error
    assert outcome.result is not None and len(outcome.result.steps) == 1


def test_a_memory_error_reported_by_the_worker_becomes_the_limit_line(tmp_path: Path) -> None:
    """Whatever library hit the cap (numpy, torch, ONNX Runtime, a C++ bad_alloc), the user reads the limit."""
    run = Run(_job(tmp_path, 1, "x"), tmp_path / "x" / "job.json")
    for text in (
        "MemoryError: Unable to allocate 74.5 GiB for an array with shape (100000, 100000)",
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes",
        "ONNX Runtime could not run this job (RuntimeException: bad allocation)",
    ):
        out = run._outcome(ErrorEvent(message=text), 1, 0.1)
        assert out.error is not None and out.error.startswith("the run needed more than 1 GB"), out.error
    other = run._outcome(ErrorEvent(message="fp16: bad setting 'x': unknown setting"), 1, 0.1)
    assert other.error == "fp16: bad setting 'x': unknown setting"
    run.job.memory_limit_bytes = 0  # no cap: a memory error is reported as it was
    assert run._outcome(ErrorEvent(message="MemoryError: x"), 1, 0.1).error == "MemoryError: x"


def test_the_default_is_this_computers_ram_and_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert resolve_memory_limit(None) == default_memory_limit()
    if sys.platform.startswith("linux") and not Path("/dev/nvidiactl").exists():
        import os

        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        assert default_memory_limit() == ram
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2.5")
    assert resolve_memory_limit(None) == int(2.5 * GB)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "0")
    assert resolve_memory_limit(None) is None
    assert resolve_memory_limit(0) is None and resolve_memory_limit(3 * GB) == 3 * GB
    assert (
        memory_limit_from_gb(None) is None
        and memory_limit_from_gb(0) == 0
        and memory_limit_from_gb(1.5) == int(1.5 * GB)
    )
    with pytest.raises(Exception, match="--memory-limit"):
        memory_limit_from_gb(-1)


@linux_only
def test_the_cli_flag_caps_the_run_and_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shrinkwise.workspace.cli import main
    from shrinkwise.workspace.demo import build_demo
    from shrinkwise.workspace.project import load_project

    demo_project = build_demo(tmp_path / "demo").path
    capsys.readouterr()

    code = main(["run", str(demo_project), "fp16", "--memory-limit", "0.05"])  # 50 MB: not even ONNX Runtime loads
    captured = capsys.readouterr()
    run = [e for e in load_project(demo_project).experiments if e.kind == "run"][-1]
    assert code != 0 and run.status == "failed"
    assert run.error is not None and run.error.startswith("the run needed more than 0.05 GB of memory"), run.error
    assert "--memory-limit" in captured.out + captured.err
