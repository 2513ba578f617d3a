"""The shortcuts that make the first advice fast keep what the user sees: which Constants intake folds, the shapes
the profile infers from a weightless skeleton, and how many timed runs the profile's note reports."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from shrinkwise.compression.intake import load_model
from shrinkwise.compression.profile import _shapes_at_batch_one, profile_model
from tests.compression.models import _const, _save


def _scaled_mlp(path: Path, scale_into_matmul: bool) -> Path:
    """x [N,S,16] -> MatMul W [16,64] (an initializer) -> Mul by a scalar Constant -> Add eps -> Reshape -> y.

    The scalars are what a transformer export is full of (an attention scale, a LayerNorm epsilon). With
    `scale_into_matmul` the scalar is a MatMul weight instead (a 1x1 weight layer), which is a weight."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 64)).astype(np.float32), "w")
    shape = numpy_helper.from_array(np.array([0, -1, 8, 8], dtype=np.int64), "shape")
    nodes = [
        _const("scale", np.array(0.125, dtype=np.float32)),
        _const("eps", np.array([1e-5], dtype=np.float32)),
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Mul", ["h", "scale"], ["s"]),
        helper.make_node("Add", ["s", "eps"], ["a"]),
        helper.make_node("Reshape", ["a", "shape"], ["r"]),
    ]
    if scale_into_matmul:
        nodes += [
            _const("one_by_one", np.array([[2.0]], dtype=np.float32)[..., :1]),
            helper.make_node("Unsqueeze", ["r", "axis"], ["u"]),
            helper.make_node("MatMul", ["u", "one_by_one"], ["y"]),
        ]
        inits = [w, shape, numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis")]
    else:
        nodes.append(helper.make_node("Identity", ["r"], ["y"]))
        inits = [w, shape]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "S", 16])
    y = helper.make_tensor_value_info(
        "y", TensorProto.FLOAT, ["N", "S", 8, 8, 1] if scale_into_matmul else ["N", "S", 8, 8]
    )
    return _save(nodes, [x], [y], inits, path, "scaled_mlp")


def test_scalar_constants_outside_weight_layers_leave_the_file_as_given(tmp_path: Path) -> None:
    path = _scaled_mlp(tmp_path / "scaled.onnx", scale_into_matmul=False)
    result = load_model(path, tmp_path / "work")
    assert result.onnx_path == path and result.notes == []  # nothing rewritten, nothing claimed
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_a_scalar_constant_read_by_a_weight_layer_is_still_folded(tmp_path: Path) -> None:
    path = _scaled_mlp(tmp_path / "scaled.onnx", scale_into_matmul=True)
    result = load_model(path, tmp_path / "work")
    assert result.notes == ["1 Constant weight(s) moved to initializers, so they are counted and can be quantized"]
    folded = onnx.load(str(result.onnx_path))
    assert "one_by_one" in {t.name for t in folded.graph.initializer}
    assert {n.output[0] for n in folded.graph.node if n.op_type == "Constant"} == {"scale", "eps"}


def _wide_model(path: Path) -> Path:
    """Large float weights (the skeleton turns them into inputs), an int64 Reshape target (kept: data propagation
    reads it) and a Shape -> Gather -> Concat chain whose result only data propagation knows."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.standard_normal((32, 96)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal(96).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.standard_normal((96, 2048)).astype(np.float16), "w2"),
        numpy_helper.from_array(np.array([-1, 4, 24], dtype=np.int64), "split_shape"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Reshape", ["hb", "split_shape"], ["heads"]),
        helper.make_node("Shape", ["x"], ["xs"]),
        helper.make_node("Gather", ["xs", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "minus_one"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus_one"], ["flat"], axis=0),
        helper.make_node("Reshape", ["heads", "flat"], ["back"]),
        helper.make_node("Cast", ["back"], ["back16"], to=TensorProto.FLOAT16),
        helper.make_node("MatMul", ["back16", "w2"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", 2048])
    return _save(nodes, [x], [y], inits, path, "wide")


def test_shapes_from_the_skeleton_equal_full_shape_inference(tmp_path: Path) -> None:
    model = onnx.load(str(_wide_model(tmp_path / "wide.onnx")))
    pinned = onnx.ModelProto()
    pinned.CopyFrom(model)
    pinned.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    full = onnx.shape_inference.infer_shapes(pinned, data_prop=True)
    expected = {
        vi.name: (
            [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim],
            vi.type.tensor_type.elem_type,
        )
        for vi in list(full.graph.value_info) + list(full.graph.output)
    }
    shapes = _shapes_at_batch_one(model)
    assert {k: shapes[k] for k in expected} == expected
    assert shapes["y"] == ([1, 2048], TensorProto.FLOAT16)  # through the data-propagated Reshape and the fp16 weight
    assert len(model.graph.initializer) == 6  # the caller's model is left whole


def test_profile_counts_weights_and_macs_the_skeleton_never_holds(tmp_path: Path) -> None:
    path = _wide_model(tmp_path / "wide.onnx")
    prof = profile_model(path, {"x": np.ones((1, 32), np.float32)})
    assert prof.parameters == 32 * 96 + 96 + 96 * 2048 + 3 + 1 + 1
    assert prof.weight_bytes_by_dtype["float16"] == 96 * 2048 * 2
    assert prof.total_macs == 32 * 96 + 96 * 2048
    assert all(layer.time_us is not None for layer in prof.layers if layer.op_type == "MatMul")


def test_the_timing_note_says_how_many_runs_the_medians_are_of(tmp_path: Path) -> None:
    path = _wide_model(tmp_path / "wide.onnx")
    feed = {"x": np.ones((1, 32), np.float32)}
    assert "median of 3 runs" in profile_model(path, feed, runs=3).timing_note  # fewer asked than the minimum
    found = re.search(r"median of (\d+) runs", profile_model(path, feed).timing_note)
    assert found is not None and 5 <= int(found.group(1)) <= 20  # as many as fit in the time box, 5 at least
