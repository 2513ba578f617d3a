"""Graph shapes from real exported models (issue 12 items 3, 4, 5, 7): each test builds the shape that broke.

Constant-node weights, a kernel shared by 18 Conv nodes, LSTM/GRU/RNN, an LSTM inside an If, a Cast that fp16
conversion breaks, and graphs ONNX Runtime refuses: profile numbers are checked against counts done by hand here,
and every failure must come out as one ShrinkwiseError line, never a raw ONNX Runtime exception.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.errors import ModelLoadError, ShrinkwiseError, TechniqueError
from shrinkwise.compression.events import ErrorEvent, ResultEvent, parse_event
from shrinkwise.compression.intake import load_model
from shrinkwise.compression.jobs import Job, JobStep, save_dataset
from shrinkwise.compression.measure.evaluate import measure_candidate
from shrinkwise.compression.profile import profile_model
from shrinkwise.compression.technique_api import LabelledData, TechniqueContext, drive
from shrinkwise.compression.worker import check_artifact_loads
from tests.compression.models import (
    cast_to_float_model,
    constant_weights_cnn,
    lstm_inside_if,
    recurrent_classifier,
    shared_kernel_cnn,
)

ROOT = Path(__file__).resolve().parents[2]


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _apply(technique: str, onnx_path: Path, out: Path, calibration: np.ndarray | None = None, **config):  # type: ignore[no-untyped-def]
    from shrinkwise.compression.catalog import technique_module

    module = technique_module(technique)
    out.mkdir(parents=True, exist_ok=True)
    ctx = TechniqueContext(
        onnx_path=onnx_path,
        out_dir=out,
        calibration=None if calibration is None else LabelledData(inputs={"x": calibration}),
    )
    artifact = drive(module.apply(ctx, module.Config(**config)))
    return artifact, out / artifact.path


# --- item 4: Constant-node weights ----------------------------------------------------------------------------


def test_constant_weights_are_folded_counted_and_quantized(tmp_path: Path) -> None:
    path, params = constant_weights_cnn(tmp_path / "paddle.onnx")
    assert not onnx.load(str(path)).graph.initializer  # the failure shape: weights only as Constant nodes
    result = load_model(path, tmp_path / "work")
    assert result.onnx_path != path and result.onnx_path.parent == tmp_path / "work"
    assert result.notes == ["4 Constant weight(s) moved to initializers, so they are counted and can be quantized"]
    folded = onnx.load(str(result.onnx_path))
    assert [n.op_type for n in folded.graph.node].count("Constant") == 1  # the int64 shape stays a node
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(result.onnx_path, x), _run(path, x), rtol=1e-6, atol=1e-6)

    prof = profile_model(result.onnx_path, {"x": x[:1]})
    assert prof.parameters == params == 8 * 9 + 8 + 512 * 10 + 10
    conv = next(l for l in prof.layers if l.op_type == "Conv")
    assert conv.parameters == 8 * 9 + 8 and conv.macs == 8 * 8 * 8 * 9

    size = result.onnx_path.stat().st_size
    _, dyn = _apply("int8_dynamic", result.onnx_path, tmp_path / "dyn")
    _, static = _apply("int8_static", result.onnx_path, tmp_path / "static", calibration=x)
    for out in (dyn, static):
        assert out.stat().st_size < 0.6 * size, out
        np.testing.assert_allclose(_run(out, x), _run(path, x), atol=0.1)


def test_onnx_without_constants_is_used_as_given(tmp_path: Path) -> None:
    path = recurrent_classifier(tmp_path / "lstm.onnx")
    result = load_model(path, tmp_path / "work")
    assert result.onnx_path == path and result.notes == []


# --- item 7: shared initializers, raw ORT errors --------------------------------------------------------------


def test_shared_kernel_counted_once_and_shares_stay_below_one(tmp_path: Path) -> None:
    path, params = shared_kernel_cnn(tmp_path / "tied.onnx", uses=18)
    prof = profile_model(path)
    assert prof.parameters == params
    layer_sum = sum(l.parameters for l in prof.layers)
    assert layer_sum <= prof.parameters
    conv_share = sum(l.parameters for l in prof.layers if l.op_type == "Conv") / prof.parameters
    assert conv_share == pytest.approx(4 * 4 * 9 / params)  # was 18× that (5.14 on the real model) before
    convs = [l for l in prof.layers if l.op_type == "Conv"]
    assert len(convs) == 18 and convs[0].parameters == 144 and all(c.parameters == 0 for c in convs[1:])
    assert all(c.macs == 8 * 8 * 4 * 4 * 9 for c in convs)  # compute still counted for each use


@pytest.fixture()
def broken_fp16(tmp_path: Path) -> Path:
    """A graph the onnx checker accepts but ONNX Runtime refuses (the raw fp16 conversion of the Cast model)."""
    from onnxconverter_common import float16

    model = onnx.load(str(cast_to_float_model(tmp_path / "cast.onnx")))
    broken = float16.convert_float_to_float16(model, keep_io_types=True)
    path = tmp_path / "broken.onnx"
    onnx.save(broken, str(path))
    return path


def _assert_one_line(exc: ShrinkwiseError, path: Path) -> None:
    text = str(exc)
    assert "\n" not in text and str(path) in text and "[ONNXRuntimeError]" not in text
    assert "does not match expected type" in text and " — " in text  # the cause, then what to do


def test_ort_errors_are_one_line_at_intake_profile_and_measure(broken_fp16: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as intake:
        load_model(broken_fp16, tmp_path / "work")
    _assert_one_line(intake.value, broken_fp16)
    with pytest.raises(ModelLoadError) as prof:
        profile_model(broken_fp16, {"x": np.zeros((1, 16), np.float32)})
    _assert_one_line(prof.value, broken_fp16)
    good = cast_to_float_model(tmp_path / "good.onnx")
    data = Dataset(inputs={"x": np.zeros((4, 16), np.float32)})
    with pytest.raises(ModelLoadError) as measured:
        measure_candidate(broken_fp16, good, data, tmp_path / "m", latency_seconds=0.1, measure_memory=False)
    _assert_one_line(measured.value, broken_fp16)


def test_broken_artifact_is_refused_before_it_is_recorded(broken_fp16: Path) -> None:
    with pytest.raises(TechniqueError) as err:
        check_artifact_loads(broken_fp16, "fp16")
    assert "fp16 wrote a model ONNX Runtime cannot load" in str(err.value) and "not recorded" in str(err.value)
    assert "\n" not in str(err.value)


# --- item 5: recurrent layers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "gates"), [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
def test_recurrent_macs_and_parameters(tmp_path: Path, op: str, gates: int) -> None:
    seq, n_in, hidden = 12, 16, 32
    path = recurrent_classifier(tmp_path / f"{op}.onnx", op=op, seq=seq, n_in=n_in, hidden=hidden, classes=4)
    prof = profile_model(path, {"x": np.zeros((1, seq, n_in), np.float32)})
    layer = next(l for l in prof.layers if l.op_type == op)
    # per time step: W·x + R·h for every gate; times the sequence length
    assert layer.macs == seq * gates * hidden * (n_in + hidden)
    assert layer.parameters == gates * hidden * (n_in + hidden) + 2 * gates * hidden
    assert prof.total_macs == layer.macs + hidden * 4


def test_lstm_inside_if_counts_its_parameters(tmp_path: Path) -> None:
    path, lstm_params = lstm_inside_if(tmp_path / "if.onnx", seq=6, n_in=8, hidden=8)
    prof = profile_model(path, {"x": np.ones((1, 6, 8), np.float32)})
    node = next(l for l in prof.layers if l.op_type == "If")
    # W and B inside the branch, R and the Squeeze axis (1 value) read from the outer graph
    assert node.parameters == lstm_params + 1
    assert prof.parameters == lstm_params + 2  # + the If condition's threshold
    assert node.macs == 6 * 4 * 8 * (8 + 8)  # the dearer branch: the LSTM
    assert sum(l.parameters for l in prof.layers) <= prof.parameters


def test_static_int8_says_which_recurrent_ops_stayed_float(tmp_path: Path) -> None:
    path = recurrent_classifier(tmp_path / "lstm.onnx", op="LSTM")
    calib = np.random.default_rng(0).standard_normal((16, 12, 16)).astype(np.float32)
    artifact, out = _apply("int8_static", path, tmp_path / "q", calibration=calib)
    assert any("Recurrent ops stayed float32 (LSTM ×1)" in n for n in artifact.notes)
    assert artifact.details["recurrent_kept_float"] == "LSTM ×1"
    assert "LSTM" in {n.op_type for n in onnx.load(str(out)).graph.node}


# --- item 3: fp16 graphs ORT cannot load ----------------------------------------------------------------------


def test_fp16_keeps_the_offending_op_in_float_and_says_so(tmp_path: Path, broken_fp16: Path) -> None:
    path = cast_to_float_model(tmp_path / "stft_like.onnx")
    artifact, out = _apply("fp16", path, tmp_path / "fp16")
    assert artifact.details["auto_kept_float_op_types"] == ["Cast"]
    assert any("Kept in float32 automatically" in n and "Cast" in n for n in artifact.notes)
    x = np.random.default_rng(0).standard_normal((20, 16)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), _run(path, x), rtol=2e-2, atol=2e-2)
    w = next(t for t in onnx.load(str(out)).graph.initializer if t.name.startswith("W"))
    assert w.data_type == onnx.TensorProto.FLOAT16  # the weights did become float16


def test_fp16_without_problems_keeps_nothing_extra(tmp_path: Path) -> None:
    path, _ = shared_kernel_cnn(tmp_path / "tied.onnx", uses=3)
    artifact, _ = _apply("fp16", path, tmp_path / "fp16")
    assert artifact.details["auto_kept_float_op_types"] == []
    assert not any("automatically" in n for n in artifact.notes)


def test_worker_records_fp16_of_the_cast_model(tmp_path: Path) -> None:
    path = cast_to_float_model(tmp_path / "stft_like.onnx")
    x = np.random.default_rng(0).standard_normal((24, 16)).astype(np.float32)
    out = tmp_path / "run"
    job = Job(
        original_onnx=str(path),
        out_dir=str(out),
        steps=[JobStep(technique="fp16")],
        input_names=["x"],
        evaluation=save_dataset(Dataset(inputs={"x": x}), out / "eval.npz"),
        latency_seconds=0.2,
        measure_memory=False,
    )
    job_path = job.write(out / "job.json")
    proc = subprocess.run(
        [sys.executable, "-m", "shrinkwise.compression.worker", str(job_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    events = [parse_event(line) for line in proc.stdout.splitlines()]
    errors = [e.message for e in events if isinstance(e, ErrorEvent)]
    assert proc.returncode == 0, errors
    result = next(e for e in events if isinstance(e, ResultEvent))
    step = result.payload.steps[0]
    assert any("Cast" in n for n in step.artifact.notes)
    cosine = next(m.value for m in step.measurements if m.metric == "cosine_mean")
    assert cosine > 0.999


def test_runs_have_a_default_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from shrinkwise.compression.runner import DEFAULT_TIME_LIMIT_S, TIME_LIMIT_ENV, resolve_time_limit

    monkeypatch.delenv(TIME_LIMIT_ENV, raising=False)
    assert resolve_time_limit(None) == DEFAULT_TIME_LIMIT_S == 1800
    assert resolve_time_limit(5) == 5 and resolve_time_limit(0) is None
    monkeypatch.setenv(TIME_LIMIT_ENV, "90")
    assert resolve_time_limit(None) == 90


def test_quantizer_failing_inside_ort_is_one_line(broken_fp16: Path, tmp_path: Path) -> None:
    calib = np.zeros((4, 16), np.float32)
    with pytest.raises(TechniqueError) as err:
        _apply("int8_static", broken_fp16, tmp_path / "q", calibration=calib)
    text = str(err.value)
    assert "\n" not in text and "[ONNXRuntimeError]" not in text and str(broken_fp16) in text


def test_worker_reports_an_ort_failure_in_one_line(broken_fp16: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    job = Job(
        original_onnx=str(broken_fp16),
        out_dir=str(out),
        steps=[JobStep(technique="int8_dynamic")],
        input_names=["x"],
        evaluation=save_dataset(Dataset(inputs={"x": np.zeros((4, 16), np.float32)}), out / "eval.npz"),
        latency_seconds=0.2,
        measure_memory=False,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "shrinkwise.compression.worker", str(job.write(out / "job.json"))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1
    error = next(e for e in map(parse_event, proc.stdout.splitlines()) if isinstance(e, ErrorEvent))
    assert error.message.startswith(f"{broken_fp16}: ONNX Runtime could not run the original model")
    assert "[ONNXRuntimeError]" not in error.message and "\n" not in error.message


def test_run_gets_the_default_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shrinkwise.compression.runner import TIME_LIMIT_ENV, Run

    monkeypatch.delenv(TIME_LIMIT_ENV, raising=False)
    job = Job(original_onnx="m.onnx", out_dir=str(tmp_path), steps=[], input_names=["x"])
    assert Run(job, tmp_path / "job.json").time_limit_s == 1800
    assert Run(job, tmp_path / "job.json", time_limit_s=0).time_limit_s is None
