"""Profiling and measurement on a tiny model: real per-node times, MACs, latency statistics, fidelity metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.measure.evaluate import measure_candidate
from shrinkwise.compression.measure.latency import measure_latency
from shrinkwise.compression.measure.quality import classification_metrics, sqnr_db
from shrinkwise.compression.measure.tasks import score_output
from shrinkwise.compression.profile import profile_model
from tests.helpers import export_onnx, tiny_cnn


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tiny_cnn(), tmp_path_factory.mktemp("m") / "m.onnx")


def test_profile_counts_params_macs_and_times(cnn_path: Path) -> None:
    prof = profile_model(cnn_path, {"x": np.zeros((1, 1, 8, 8), np.float32)}, runs=5)
    conv = next(l for l in prof.layers if l.op_type == "Conv")
    gemm = next(l for l in prof.layers if l.op_type == "Gemm")
    assert conv.parameters == 4 * 9 + 4 and conv.macs == 4 * 8 * 8 * 9
    assert gemm.parameters == 256 * 10 + 10 and gemm.macs == 256 * 10
    assert prof.parameters == conv.parameters + gemm.parameters
    assert prof.weight_bytes_by_dtype == {"float32": 4 * prof.parameters}
    assert all(l.time_us is not None and l.time_us >= 0 for l in prof.layers)
    assert prof.op_histogram["Conv"] == 1 and "optimizations off" in prof.timing_note


def test_latency_reports_median_p90_and_paired_ratio(cnn_path: Path) -> None:
    res = measure_latency(
        {"a": cnn_path, "b": cnn_path},
        {"x": np.zeros((1, 1, 8, 8), np.float32)},
        rounds=4,
        runs_per_round=5,
        reference="a",
    )
    assert res["a"].runs == 20 and res["a"].median_ms > 0 and res["a"].p90_ms >= res["a"].median_ms
    lo, hi = res["b"].ratio_iqr  # same model twice: the paired ratio straddles ~1
    assert 0.3 < res["b"].ratio_to_reference < 3 and lo <= hi


def test_quality_metrics() -> None:
    ref = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]])
    cand = np.array([[2.0, 1.1], [0.2, 3.0], [0.4, 0.5]])
    fid = score_output("classification", ref, cand)
    assert fid.metrics["top1_agreement"] == pytest.approx(2 / 3) and fid.disagreements == [2]
    assert sqnr_db(ref, ref) == float("inf") and 10 < sqnr_db(ref, cand) < 20
    cm = classification_metrics(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
    assert cm.accuracy == 0.75 and cm.per_class_accuracy == {0: 1.0, 1: 0.5}


def test_measure_candidate_against_itself(cnn_path: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ds = Dataset(
        inputs={"x": rng.random((20, 1, 8, 8), dtype=np.float32)},
        labels=rng.integers(0, 10, 20),
        groups=np.array(["a", "b"] * 10),
    )
    m = measure_candidate(cnn_path, cnn_path, ds, tmp_path)
    by = {x.metric: x for x in m.measurements}
    assert by["size_bytes"].value == cnn_path.stat().st_size
    assert by["top1_agreement"].value == 1.0 and by["sqnr_db"].value == 200.0
    assert all(x.source == "host" for x in m.measurements)
    assert by["peak_memory_mb"].value > 0
    assert set(m.quality["per_subgroup_accuracy"]) == {"a", "b"}


def _position_ids_model(path: Path) -> Path:
    """A transformer's embedding front: position ids sliced from a buffer to the input's length (a Slice whose end
    is data-dependent, where static shape inference loses the sequence length), a table lookup and a projection."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(np.arange(512, dtype=np.int64)[None, :], "position_buffer"),
        numpy_helper.from_array(rng.normal(size=(512, 16)).astype(np.float32), "position_table"),
        numpy_helper.from_array(rng.normal(size=(16, 8)).astype(np.float32), "proj"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero1"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
    ]
    nodes = [
        helper.make_node("Shape", ["ids"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0, name="seq"),
        helper.make_node("Unsqueeze", ["seq", "axes0"], ["end"], name="end"),
        helper.make_node("Slice", ["position_buffer", "zero1", "end", "axis1"], ["pos"], name="slice"),
        helper.make_node("Gather", ["position_table", "pos"], ["emb"], axis=0, name="lookup"),
        helper.make_node("MatMul", ["emb", "proj"], ["y"], name="proj_matmul"),
    ]
    graph = helper.make_graph(
        nodes,
        "positions",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_macs_of_a_dynamic_sequence_are_counted_at_the_profiled_inputs_length(tmp_path: Path) -> None:
    path = _position_ids_model(tmp_path / "positions.onnx")
    assert profile_model(path).total_macs is None  # no input to run: static inference cannot pin the length
    feed = {"ids": np.zeros((1, 13), dtype=np.int64)}
    prof = profile_model(path, feed)
    layer = next(layer for layer in prof.layers if layer.name == "proj_matmul")
    assert layer.macs == 13 * 16 * 8 and prof.total_macs == 13 * 16 * 8  # seq x in x out, at the fed length
    assert "ids [1, 13]" in prof.timing_note  # the count is said to be at this input's shape
