"""Per-layer quantization error with ONNX Runtime's QDQ debugging tools: the numbers, their nodes, and failures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from shrinkwise.compression.measure.layer_error import LayerErrorReport, layer_error
from shrinkwise.compression.technique_api import LabelledData, TechniqueContext, drive

N_IN, HIDDEN, N_OUT = 16, 128, 10


def mlp(path: Path, outlier_layer: str | None = None) -> Path:
    """x -> fc1 -> Relu -> fc2 -> Relu -> fc3 (Gemm), Gaussian weights; one weight of `outlier_layer` 1000x larger."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    shapes = {"fc1": (HIDDEN, N_IN), "fc2": (HIDDEN, HIDDEN), "fc3": (N_OUT, HIDDEN)}
    inits, nodes, prev = [], [], "x"
    for i, (name, shape) in enumerate(shapes.items()):
        w = (rng.standard_normal(shape) / np.sqrt(shape[1])).astype(np.float32)
        if name == outlier_layer:
            w[3, 5] = 1000.0 * np.abs(w).max()
        inits += [
            numpy_helper.from_array(w, f"{name}.weight"),
            numpy_helper.from_array(np.zeros(shape[0], np.float32), f"{name}.bias"),
        ]
        out = "y" if name == "fc3" else f"{name}_out"
        nodes.append(
            helper.make_node(
                "Gemm", ["x" if i == 0 else prev, f"{name}.weight", f"{name}.bias"], [out], name=name, transB=1
            )
        )
        if name != "fc3":
            nodes.append(helper.make_node("Relu", [out], [f"{name}_act"], name=f"{name}_relu"))
            prev = f"{name}_act"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", N_IN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", N_OUT])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def inputs(n: int = 64) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((n, N_IN)).astype(np.float32)}


def quantize(src: Path, out_dir: Path, technique: str = "int8_static", **config) -> Path:  # type: ignore[no-untyped-def]
    from shrinkwise.compression.catalog import technique_module

    module = technique_module(technique)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = TechniqueContext(onnx_path=src, out_dir=out_dir, calibration=LabelledData(inputs=inputs()))
    return out_dir / drive(module.apply(ctx, module.Config.model_validate(config))).path


def test_outlier_weight_gives_that_layer_the_lowest_weight_sqnr(tmp_path: Path) -> None:
    src = mlp(tmp_path / "mlp.onnx", outlier_layer="fc2")
    qdq = quantize(src, tmp_path / "q")
    cwd_before = sorted(os.listdir(os.getcwd()))
    report = layer_error(src, qdq, inputs())
    assert sorted(os.listdir(os.getcwd())) == cwd_before  # nothing written into the cwd
    assert report.reason is None and report.samples == 32  # capped at 32 of the 64 samples
    by = report.by_node()
    assert {"fc1", "fc2", "fc3"} <= set(by)
    w = {n: by[n].weight_sqnr_db for n in ("fc1", "fc2", "fc3")}
    assert all(v is not None and np.isfinite(v) for v in w.values())
    assert min(w, key=w.get) == "fc2"  # type: ignore[arg-type]
    assert w["fc2"] < min(w["fc1"], w["fc3"]) - 10  # the rest of fc2 rounds to (almost) nothing
    assert all(by[n].activation_sqnr_db is not None and by[n].qdq_sqnr_db is not None for n in w)
    assert by["fc1"].activation_sqnr_db > by["fc2"].activation_sqnr_db  # fc2's lost weights hurt its output
    # The folded Relu is not counted as quantization error: the clean layer's own Q/DQ costs little.
    assert by["fc1"].qdq_sqnr_db > 25
    assert [i.node for i in report.inputs] == ["x"]
    assert layer_error(src, qdq, inputs()) == report  # deterministic


def test_debug_tools_failures_give_a_reason_not_an_exception(tmp_path: Path) -> None:
    src = mlp(tmp_path / "mlp.onnx")
    qop = quantize(src, tmp_path / "qop", quant_format="QOperator")
    dyn = quantize(src, tmp_path / "dyn", technique="int8_dynamic")
    for model in (qop, dyn):
        report = layer_error(src, model, inputs())
        assert isinstance(report, LayerErrorReport) and not report.layers and report.reason
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    report = layer_error(src, broken, inputs())
    assert not report.layers and report.reason
    report = layer_error(src, quantize(src, tmp_path / "q"), {"other": np.zeros((4, N_IN), np.float32)})
    assert not report.layers and "x" in (report.reason or "")


def test_no_samples_gives_a_reason(tmp_path: Path) -> None:
    src = mlp(tmp_path / "mlp.onnx")
    report = layer_error(src, quantize(src, tmp_path / "q"), {"x": np.zeros((0, N_IN), np.float32)})
    assert not report.layers and report.reason
