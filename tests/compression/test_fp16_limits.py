"""fp16 keeps every value float16 can hold (a sample rate of 16000 stays 16000) and says what it had to clamp.

The converter's own default clamps at 1e4: a voice-activity model's `16000` became 10000 and 11 % of its decisions
flipped. The model here has that constant as a Constant node, and weights of 1e6 and -2e5 (an initializer) that
float16 cannot hold, so they must be clamped and named in a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from shrinkwise.compression.technique_api import Artifact, TechniqueContext, drive
from shrinkwise.compression.techniques import fp16
from tests.compression.models import _const, _save


def _model(path: Path) -> Path:
    """x [N, 3] -> `scaled` = x * 16000 (a Constant node) and `big` = x * [1e6, -2e5, 3] (an initializer)."""
    nodes = [
        _const("rate", np.array(16000.0, np.float32)),
        helper.make_node("Mul", ["x", "rate"], ["scaled"]),
        helper.make_node("Mul", ["x", "gain"], ["big"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    outs = [
        helper.make_tensor_value_info("scaled", TensorProto.FLOAT, ["N", 3]),
        helper.make_tensor_value_info("big", TensorProto.FLOAT, ["N", 3]),
    ]
    gain = numpy_helper.from_array(np.array([1e6, -2e5, 3.0], np.float32), "gain")
    return _save(nodes, [x], outs, [gain], path, "fp16_limits")


def _run(src: Path, out: Path, **settings: Any) -> Artifact:
    ctx = TechniqueContext(onnx_path=src, out_dir=out)
    out.mkdir(parents=True, exist_ok=True)
    return drive(fp16.apply(ctx, fp16.Config(**settings)))


def _outputs(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"x": x}), strict=True))


def test_default_keeps_16000_and_notes_what_was_clamped(tmp_path: Path) -> None:
    assert fp16.Config().max_finite_value == 65504.0
    src = _model(tmp_path / "m.onnx")
    art = _run(src, tmp_path / "out")
    converted = onnx.load(str(tmp_path / "out" / art.path))
    rate = next(n for n in converted.graph.node if n.op_type == "Constant" and n.output[0] == "rate")
    assert rate.attribute[0].t.data_type == TensorProto.FLOAT16
    assert float(numpy_helper.to_array(rate.attribute[0].t)) == 16000.0

    x = np.array([[1.0, 0.5, -2.0], [0.25, 1.0, 1.0]], np.float32)
    got = _outputs(tmp_path / "out" / art.path, x)
    np.testing.assert_allclose(got["scaled"], x * 16000.0, rtol=1e-3)
    np.testing.assert_allclose(got["big"], x * np.array([65504.0, -65504.0, 3.0], np.float32), rtol=1e-3)

    assert art.details["clipped_values"] == 2
    assert art.details["clipped_largest_magnitude"] == 1e6
    assert art.details["clipped_tensors"] == ["gain"]
    note = next(n for n in art.notes if "clamped" in n)
    assert note.startswith("2 weight/constant value(s) beyond ±65504") and "largest magnitude 1e+06" in note
    assert "gain" in note


def test_a_lower_limit_clamps_the_constant_too_and_says_so(tmp_path: Path) -> None:
    src = _model(tmp_path / "m.onnx")
    art = _run(src, tmp_path / "out", max_finite_value=1e4)
    assert art.details["clipped_values"] == 3
    assert sorted(art.details["clipped_tensors"]) == ["Constant_0/value", "gain"]
    x = np.ones((1, 3), np.float32)
    assert float(_outputs(tmp_path / "out" / art.path, x)["scaled"][0, 0]) == 10000.0


def test_tensors_kept_in_float32_are_not_counted(tmp_path: Path) -> None:
    src = _model(tmp_path / "m.onnx")
    art = _run(src, tmp_path / "out", keep_float_op_types=("Mul",))
    assert art.details["clipped_values"] == 0 and not any("clamped" in n for n in art.notes)
    got = _outputs(tmp_path / "out" / art.path, np.ones((1, 3), np.float32))
    np.testing.assert_allclose(got["big"], [[1e6, -2e5, 3.0]], rtol=1e-6)
