"""Mixed precision: the layers the sensitivity analysis flags stay float, with no Q/DQ in front of them."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.measure.quality import sqnr_db
from shrinkwise.compression.techniques import mixed_precision
from tests.compression.techniques.helpers import Task, outputs, run

SENSITIVITY = {"/0/Conv": 0.20, "/11/Gemm": 0.10, "/4/Conv": 0.002, "/9/Gemm": 0.001}
QUANTIZED_FORMS = {"QLinearConv", "QLinearMatMul", "QGemm", "ConvInteger", "MatMulInteger", "MatMulNBits"}


def assert_float(path: Path, names: list[str]) -> onnx.ModelProto:
    model = onnx.load(str(path))
    producers = {o: n for n in model.graph.node for o in n.output}
    inits = {i.name: i for i in model.graph.initializer}
    by_name = {n.name: n for n in model.graph.node}
    for name in names:
        node = by_name[name]  # still there, under its own name
        assert node.op_type in ("Conv", "Gemm", "MatMul"), node.op_type
        for inp in node.input:
            prod = producers.get(inp)
            assert prod is None or prod.op_type not in (
                "DequantizeLinear",
                "QuantizeLinear",
                "DynamicQuantizeLinear",
            ), (name, inp)
            if inp in inits:
                assert inits[inp].data_type == onnx.TensorProto.FLOAT
    return model


def test_int8_static_keeps_top_k_float(cnn_task: Task, tmp_path: Path) -> None:
    ctx = cnn_task.ctx(tmp_path, sensitivity=SENSITIVITY)
    _, art = run(mixed_precision.apply, ctx, mixed_precision.Config(top_k=2, calibration_samples=64))
    assert art.details["kept_float"] == ["/0/Conv", "/11/Gemm"]
    model = assert_float(tmp_path / art.path, ["/0/Conv", "/11/Gemm"])
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") > 0  # the rest is quantized
    # the other two layers do read quantized inputs
    producers = {o: n for n in model.graph.node for o in n.output}
    other = next(n for n in model.graph.node if n.name == "/4/Conv")
    assert producers[other.input[0]].op_type == "DequantizeLinear"
    x = cnn_task.validation.inputs["x"]
    q = sqnr_db(outputs(cnn_task.onnx_path, x), outputs(tmp_path / art.path, x))
    print(f"mixed int8 static (2 layers float) SQNR {q:.1f} dB")
    assert q >= 20.0


def test_threshold_selection_with_dynamic(cnn_task: Task, tmp_path: Path) -> None:
    ctx = cnn_task.ctx(tmp_path, sensitivity=SENSITIVITY)
    _, art = run(
        mixed_precision.apply,
        ctx,
        mixed_precision.Config(precision="int8_dynamic", selection="threshold", threshold=0.05),
    )
    assert art.details["kept_float"] == ["/0/Conv", "/11/Gemm"]
    model = assert_float(tmp_path / art.path, ["/0/Conv", "/11/Gemm"])
    assert any(n.op_type in QUANTIZED_FORMS for n in model.graph.node)


def test_int4_with_explicit_keep_float_and_no_sensitivity(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path, sensitivity=None)
    _, art = run(
        mixed_precision.apply, ctx, mixed_precision.Config(precision="int4", keep_float=("/4/Gemm",), block_size=16)
    )
    model = onnx.load(str(tmp_path / art.path))
    kept = next(n for n in model.graph.node if n.name == "/4/Gemm")
    assert kept.op_type in ("MatMul", "Gemm")
    assert sum(n.op_type == "MatMulNBits" for n in model.graph.node) == 2


def test_without_sensitivity_it_says_to_run_the_analysis(cnn_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="sensitivity analysis"):
        run(mixed_precision.apply, cnn_task.ctx(tmp_path, sensitivity=None), mixed_precision.Config())


def test_unknown_keep_float_name_is_refused(cnn_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="no node named"):
        run(
            mixed_precision.apply,
            cnn_task.ctx(tmp_path, sensitivity={}),
            mixed_precision.Config(keep_float=("/nope/Conv",)),
        )
