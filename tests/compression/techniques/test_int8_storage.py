"""int8_storage: an about 4x smaller file whose run-time graph, once ONNX Runtime has folded the expansion at load,
is the original float32 graph (so the same speed), with the weights' int8 rounding as the only change."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.measure.quality import sqnr_db
from shrinkwise.compression.technique_api import TechniqueContext
from shrinkwise.compression.techniques import int8_storage
from tests.compression.techniques.helpers import Task, accuracy, outputs, run


def _runtime_graph(path: Path, tmp: Path) -> onnx.ModelProto:
    """The graph ONNX Runtime runs after its basic optimizations (constant folding)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(tmp / f"{path.stem}.optimized.onnx")
    ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return onnx.load(opts.optimized_model_filepath)


def test_cnn_file_shrinks_about_4x_and_runs_the_original_graph(cnn_task: Task, tmp_path: Path) -> None:
    _, art = run(int8_storage.apply, cnn_task.ctx(tmp_path / "out"), int8_storage.Config())
    out = tmp_path / "out" / art.path
    # 3.35x on this 58 kB fixture (its graph and small biases weigh more); the demo CNN gives 3.8x (bench/)
    assert cnn_task.onnx_path.stat().st_size / out.stat().st_size >= 3.2
    assert art.details["folded_at_load"] is True and art.details["unfolded_tensors"] == []
    # What runs: the same op types, as many of each, as the original's float32 graph; no int8 tensor is left.
    before = _runtime_graph(cnn_task.onnx_path, tmp_path)
    after = _runtime_graph(out, tmp_path)
    assert collections.Counter(n.op_type for n in after.graph.node) == collections.Counter(
        n.op_type for n in before.graph.node
    )
    assert not [i.name for i in after.graph.initializer if i.data_type == TensorProto.INT8]
    # Quality: only the weights' per-channel int8 rounding changed.
    x = cnn_task.validation.inputs["x"]
    ref, got = outputs(cnn_task.onnx_path, x), outputs(out, x)
    assert sqnr_db(ref, got) >= 30.0
    labels = cnn_task.validation.labels
    assert labels is not None and accuracy(got, labels) >= accuracy(ref, labels) - 0.01
    assert art.details["worst_weight_sqnr_db"] >= 35.0
    assert any("run-time memory" in n for n in art.notes)  # the honest caveat: memory is the float model's


def _shared_kernel_model(path: Path) -> Path:
    """Two Conv nodes reading one kernel, plus a tiny Gemm under min_elements."""
    rng = np.random.default_rng(0)
    kernel = numpy_helper.from_array(rng.normal(size=(8, 8, 3, 3)).astype(np.float32), "k")
    fc = numpy_helper.from_array(rng.normal(size=(4, 8)).astype(np.float32), "fc")
    nodes = [
        helper.make_node("Conv", ["x", "k"], ["a"], pads=[1, 1, 1, 1], name="conv_a"),
        helper.make_node("Conv", ["a", "k"], ["b"], pads=[1, 1, 1, 1], name="conv_b"),
        helper.make_node("GlobalAveragePool", ["b"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "shared",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [kernel, fc],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_a_shared_kernel_is_stored_once_and_small_weights_stay_float(tmp_path: Path) -> None:
    src = _shared_kernel_model(tmp_path / "shared.onnx")
    ctx = TechniqueContext(onnx_path=src, out_dir=tmp_path / "out")
    ctx.out_dir.mkdir()
    _, art = run(int8_storage.apply, ctx, int8_storage.Config())
    model = onnx.load(str(ctx.out_dir / art.path))
    inits = {i.name: i for i in model.graph.initializer}
    assert art.details["int8_tensors"] == 1
    assert inits["k__int8"].data_type == TensorProto.INT8 and "k" not in inits
    assert inits["fc"].data_type == TensorProto.FLOAT  # 32 values: under min_elements (256), kept as it was
    x = np.random.default_rng(1).normal(size=(5, 8, 6, 6)).astype(np.float32)
    ref = ort.InferenceSession(str(src)).run(None, {"x": x})[0]
    got = ort.InferenceSession(str(ctx.out_dir / art.path)).run(None, {"x": x})[0]
    assert sqnr_db(ref, got) >= 30.0


def test_excluded_nodes_keep_float_weights_and_nothing_eligible_is_one_line(tmp_path: Path) -> None:
    src = _shared_kernel_model(tmp_path / "shared.onnx")
    ctx = TechniqueContext(onnx_path=src, out_dir=tmp_path / "out")
    ctx.out_dir.mkdir()
    with pytest.raises(TechniqueError) as err:
        run(int8_storage.apply, ctx, int8_storage.Config(nodes_to_exclude=("conv_a",)))
    text = str(err.value)
    assert "no weight can be stored in int8" in text and "\n" not in text and "min_elements" in text
    with pytest.raises(TechniqueError, match="nodes_to_exclude"):
        run(int8_storage.apply, ctx, int8_storage.Config(nodes_to_exclude=("no_such_node",)))
