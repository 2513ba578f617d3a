"""The device bundle follows the data spec and scores every output as the host does.

A streaming voice-activity model (`state` with samples on axis 1, a scalar `sr`, outputs `output` [N, 1] and
`stateN` [2, N, 16]) used to break the device script: it sliced every input on axis 0 and scored output 0 only, as
class scores. Now the manifest carries the spec and the tasks, and the numbers the device reports for each output
are the ones the host's scoring code gives on the same outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.measure.runtime import make_session, run_outputs
from shrinkwise.compression.measure.tasks import score_output
from shrinkwise.workspace.bundle import import_results, make_bundle
from shrinkwise.workspace.bundle import run_benchmark as device
from shrinkwise.workspace.session import Session
from tests.compression.models import stateful_vad

N = 40


def _vad_project(tmp: Path) -> Session:
    from shrinkwise.workspace.runs import run_recipe

    model = stateful_vad(tmp / "vad.onnx")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, 64)).astype(np.float32)
    state = (rng.standard_normal((2, N, 16)) * 0.5).astype(np.float32)
    np.savez(tmp / "data.npz", input=x, state=state, sr=np.array(16000, dtype=np.int64))
    session = Session.create(tmp / "project" / "p.shrinkwise.json")
    session.attach_model(model)
    session.add_data(tmp / "data.npz")
    session.measure_baseline()
    exp = run_recipe(session, ["int8_dynamic"], latency_seconds=0.2, measure_memory=False)
    assert exp.status == "finished", exp.error
    return session


def _run_script(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = ["--device-name", "board", "--repeats", "20", "--rounds", "2", "--warmup", "2"]
    proc = subprocess.run(
        [sys.executable, "run_benchmark.py", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "output stateN (state)" in proc.stdout and "output output (binary, primary)" in proc.stdout
    return json.loads((folder / "results.json").read_text())


def test_vad_bundle_follows_the_spec_and_scores_every_output(tmp_path: Path) -> None:
    session = _vad_project(tmp_path)
    exp = next(e for e in session.project.experiments if e.kind != "baseline")
    folder = make_bundle(session, exp.id, tmp_path / "bundle", samples=12)

    manifest = json.loads((folder / "manifest.json").read_text())
    spec = manifest["data_spec"]
    assert spec["inputs"]["state"] == {"kind": "state", "batch_axis": 1}
    assert spec["inputs"]["sr"]["kind"] == "constant" and spec["inputs"]["input"] == {"kind": "batch", "batch_axis": 0}
    tasks = {o["name"]: (o["task"], o["primary"]) for o in spec["outputs"]}
    assert tasks == {"output": ("binary", True), "stateN": ("state", False)}
    assert manifest["sample_count"] == 12
    with np.load(folder / "samples.npz") as npz:
        samples = {k: npz[k] for k in npz.files}
    assert samples["state"].shape == (2, 12, 16) and samples["sr"].shape == () and samples["input"].shape == (12, 64)

    results = _run_script(folder)
    by_name = {o["output"]: o for o in results["outputs"]}
    assert set(by_name) == {"output", "stateN"} and by_name["output"]["primary"]
    assert by_name["stateN"]["metrics"]["sqnr_db"] < 100  # int8 changed the outputs: the comparison is not trivial

    # The device's numbers are the host's on the same samples (outputs gathered on their own axes).
    data = Dataset(inputs=samples, axes={"input": 0, "state": 1, "sr": None})
    ref = run_outputs(make_session(folder / "original.onnx"), data)
    cand = run_outputs(make_session(folder / "candidate.onnx"), data)
    assert ref["stateN"].shape == (12, 2, 16)
    for name, task, threshold in (("output", "binary", 0.5), ("stateN", "state", None)):
        host = score_output(task, ref[name], cand[name], threshold=threshold).metrics
        got = by_name[name]["metrics"]
        assert set(got) == set(host), name
        for metric, value in host.items():
            assert got[metric] == pytest.approx(value, abs=1e-9), (name, metric)
    decisions = (ref["output"][:, 0] >= 0.5) == (cand["output"][:, 0] >= 0.5)
    assert by_name["output"]["metrics"]["decision_agreement"] == pytest.approx(float(np.mean(decisions)))

    got, added = import_results(session, folder / "results.json")
    assert got.id == exp.id
    device_figures = {m.metric: m for m in added}
    primary = device_figures["decision_agreement"]
    assert primary.source == "device" and primary.details["output"] == "output" and primary.details["task"] == "binary"
    assert device_figures["sqnr_db[stateN]"].value == pytest.approx(by_name["stateN"]["metrics"]["sqnr_db"])
    assert "top1_agreement" not in device_figures  # a probability is not class scores


@pytest.mark.parametrize(
    ("task", "shape", "threshold"),
    [
        ("classification", (30, 5), None),
        ("binary", (30, 1), 0.4),
        ("embedding", (30, 8), None),
        ("regression", (30, 4), None),
        ("sequence", (30, 6, 3), None),
        ("state", (30, 2, 4), None),
    ],
)
def test_device_scoring_matches_the_host(task: str, shape: tuple[int, ...], threshold: float | None) -> None:
    rng = np.random.default_rng(len(shape) * 7 + shape[-1])
    ref = rng.standard_normal(shape).astype(np.float32)
    if task == "binary":
        ref = (1.0 / (1.0 + np.exp(-ref))).astype(np.float32)
    cand = (ref + rng.standard_normal(shape).astype(np.float32) * 0.3).astype(np.float32)
    host = score_output(task, ref, cand, threshold=threshold)
    metrics, changed = device.score_output(task, ref, cand, threshold)
    assert set(metrics) == set(host.metrics)
    for k, v in host.metrics.items():
        assert metrics[k] == pytest.approx(v, abs=1e-12), k
    assert changed == host.disagreements
    same, _ = device.score_output(task, ref, ref.copy(), threshold)
    assert same["sqnr_db"] == 200.0 == score_output(task, ref, ref.copy(), threshold=threshold).metrics["sqnr_db"]
