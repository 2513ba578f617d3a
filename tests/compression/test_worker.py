"""The worker process: events only on stdout, each step measured, bad settings refused in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shrinkwise.compression.catalog import technique_config
from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import ErrorEvent, ResultEvent, parse_event
from shrinkwise.compression.jobs import Job, JobStep, save_dataset

ROOT = Path(__file__).resolve().parents[2]


def demo_copy(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """Build the demo once per test session (shared by the runner test files), copy it per test."""
    from shrinkwise.workspace.demo import build_demo

    template = tmp_path_factory.getbasetemp() / "demo-template"
    if not (template / "digits-demo.shrinkwise.json").exists():
        build_demo(template)
    dest = tmp_path / "demo"
    shutil.copytree(template, dest)
    return dest / "digits-demo.shrinkwise.json"


def make_job(project: Path, out: Path, steps: list[JobStep], **kw) -> Job:  # type: ignore[no-untyped-def]
    from shrinkwise.workspace.session import Session

    session = Session.open(project)
    sets = session.datasets()
    return Job(
        original_onnx=str(session.onnx_path),
        out_dir=str(out),
        steps=steps,
        input_names=["x"],
        evaluation=save_dataset(sets["evaluation"], out / "eval.npz"),
        calibration=save_dataset(sets["calibration"], out / "calib.npz"),
        latency_seconds=0.5,
        measure_memory=False,
        **kw,
    )


def run_worker(job: Job, path: Path) -> tuple[int, list[str]]:
    job.write(path)
    proc = subprocess.run(
        [sys.executable, "-m", "shrinkwise.compression.worker", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return proc.returncode, proc.stdout.splitlines()


def test_worker_runs_and_measures_each_step(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    project = demo_copy(tmp_path_factory, tmp_path)
    out = tmp_path / "run"
    job = make_job(
        project,
        out,
        [JobStep(technique="fp16"), JobStep(technique="int8_dynamic", config={"op_preset": "all_supported"})],
        chain=False,
    )
    rc, lines = run_worker(job, out / "job.json")
    events = [parse_event(line) for line in lines]  # every stdout line is an event
    assert rc == 0
    assert isinstance(events[-1], ResultEvent)
    steps = events[-1].payload.steps
    assert [s.technique for s in steps] == ["fp16", "int8_dynamic"]
    original = Path(job.original_onnx).stat().st_size
    for s in steps:
        assert (out / s.artifact.path).exists()
        metrics = {m.metric: m.value for m in s.measurements}
        assert metrics["size_bytes"] < 0.6 * original  # both start from the original (chain=False)
        assert metrics["accuracy"] > 0.95
    assert any(e.kind == "progress" for e in events)


def test_worker_bad_setting_is_one_line_error(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    project = demo_copy(tmp_path_factory, tmp_path)
    out = tmp_path / "run"
    rc, lines = run_worker(make_job(project, out, [JobStep(technique="fp16", config={"bogus": 1})]), out / "job.json")
    final = parse_event(lines[-1])
    assert rc == 1
    assert isinstance(final, ErrorEvent)
    assert "bogus" in final.message and "\n" not in final.message


def test_a_bad_setting_names_the_key_and_what_it_takes() -> None:
    with pytest.raises(TechniqueError) as info:
        technique_config("fp16", {"max_finite_value": 0.5})
    msg = str(info.value)
    assert msg.startswith("fp16: setting 'max_finite_value'") and "from 1 to 65504" in msg and "\n" not in msg


def test_job_round_trips_json(tmp_path: Path) -> None:
    job = Job(
        original_onnx="/m.onnx",
        out_dir="/o",
        steps=[JobStep(technique="fp16", config={"a": [1, 2]})],
        input_names=["x"],
        sensitivity={"conv": 0.1},
        time_budget_s=5.0,
    )
    assert Job.model_validate(json.loads(job.model_dump_json())) == job
