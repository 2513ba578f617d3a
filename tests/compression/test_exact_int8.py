"""Quality is measured with ONNX Runtime's exact int8 kernel; the saturating default of x86 CPUs without VNNI is
reported beside it, never taken for the model's quality.

The model: a QDQ MatMul whose uint8 activations (255) times int8 weights (±127) add in pairs to 64 770, beyond the
16 bits VPMADDUBSW sums in, so on such a CPU the default kernel roughly halves the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.io_spec import IOSpec, OutputSpec
from shrinkwise.compression.measure.evaluate import measure_candidate
from shrinkwise.compression.measure.runtime import EXACT_INT8_OPTION, make_session, quality_session
from shrinkwise.cpuflags import int8_gemm_saturates
from shrinkwise.units import fmt_metric

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma f16c\ncpu MHz\t\t: 2450.000\n"
VNNI = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"


def test_saturation_is_detected_from_the_cpu_flags() -> None:
    assert int8_gemm_saturates(AVX2_ONLY, machine="x86_64")
    assert not int8_gemm_saturates(VNNI, machine="x86_64")
    assert not int8_gemm_saturates(AVX2_ONLY.replace("f16c", "f16c avx_vnni"), machine="AMD64")
    assert not int8_gemm_saturates(ARM, machine="aarch64")
    assert int8_gemm_saturates("", machine="x86_64")  # unreadable flags: the exact kernel is only slower


def _qdq_front(wq: np.ndarray, w_scale: float) -> tuple[list[Any], list[Any]]:
    """Initializers and nodes that quantize `x` to uint8 (scale 1/255) and dequantize it and the int8 weight."""
    from onnx import helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.float32(1 / 255), "xs"),
        numpy_helper.from_array(np.uint8(0), "xz"),
        numpy_helper.from_array(wq, "wq"),
        numpy_helper.from_array(np.float32(w_scale), "ws"),
        numpy_helper.from_array(np.int8(0), "wz"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"]),
    ]
    return inits, nodes


def _save(path: Path, nodes: list[Any], inits: list[Any], outputs: int) -> Path:
    """A graph from x [n, 16] to y [n, outputs], saved at opset 17."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        path.stem,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", outputs])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def _matmul(path: Path, quantized: bool) -> Path:
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    wq = np.where(rng.random((16, 4)) < 0.8, 127, -127).astype(np.int8)
    scale = np.float32(0.01)
    if quantized:
        inits, nodes = _qdq_front(wq, scale)
        nodes.append(helper.make_node("MatMul", ["xd", "wd"], ["y"]))
    else:
        inits = [numpy_helper.from_array(wq.astype(np.float32) * scale, "w")]
        nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    return _save(path, nodes, inits, 4)


def _inputs(n: int = 32) -> np.ndarray:
    x = np.random.default_rng(1).uniform(0.9, 1.0, (n, 16)).astype(np.float32)
    x[:, :2] = 1.0  # at least one pair of full-scale activations per row
    return x


def test_the_exact_session_matches_float_math_and_the_default_saturates_here(tmp_path: Path) -> None:
    original = _matmul(tmp_path / "float.onnx", quantized=False)
    qdq = _matmul(tmp_path / "qdq.onnx", quantized=True)
    x = _inputs()
    want = make_session(original).run(None, {"x": x})[0]
    exact = make_session(qdq, exact_int8=True).run(None, {"x": x})[0]
    np.testing.assert_allclose(exact, want, rtol=0.02)  # only the rounding of x to 8 bits
    options = make_session(qdq, exact_int8=True).get_session_options()
    assert (options.get_session_config_entry(EXACT_INT8_OPTION) == "1") == int8_gemm_saturates()
    if not int8_gemm_saturates():
        pytest.skip("this CPU's default int8 kernel does not saturate (VNNI, AMX or not x86)")
    fast = make_session(qdq).run(None, {"x": x})[0]
    assert np.max(np.abs(fast - want) / np.abs(want)) > 0.2  # the model really saturates here


def test_measured_quality_is_the_exact_one_and_the_saturated_one_is_a_note(tmp_path: Path) -> None:
    original = _matmul(tmp_path / "float.onnx", quantized=False)
    qdq = _matmul(tmp_path / "qdq.onnx", quantized=True)
    data = Dataset(inputs={"x": _inputs()})
    regression = IOSpec(outputs={"y": OutputSpec(task="regression")})
    kw = {"latency_seconds": 0.1, "measure_memory": False}
    m = measure_candidate(qdq, original, data, tmp_path / "m", io=regression, **kw)  # type: ignore[arg-type]
    metrics = {x.metric: x.value for x in m.measurements}
    assert metrics["sqnr_db"] > 30  # the exact kernel: 8-bit rounding of the input only
    if not int8_gemm_saturates():
        assert m.notes == []
        return
    (note,) = m.notes
    assert EXACT_INT8_OPTION in note and "saturates" in note and "reduce_range" in note
    assert "value_fidelity" in note and f"instead of {fmt_metric('value_fidelity', metrics['value_fidelity'])}" in note
    # The sensitivity analysis's variants skip the extra pass: the same candidate, no note.
    light = measure_candidate(qdq, original, data, tmp_path / "m4", io=regression, saturation_note=False, **kw)  # type: ignore[arg-type]
    assert light.notes == [] and {x.metric: x.value for x in light.measurements}["sqnr_db"] == metrics["sqnr_db"]
    # Read as class scores, halving every score changes no top-1 answer: the headline is the same, no note.
    assert measure_candidate(qdq, original, data, tmp_path / "m2", **kw).notes == []  # type: ignore[arg-type]
    # The float model has no int8 arithmetic: never a note.
    assert measure_candidate(original, original, data, tmp_path / "m3", io=regression, **kw).notes == []  # type: ignore[arg-type]


def _shared_weight_matmuls(path: Path) -> Path:
    """Two QDQ MatMuls reading one int8 weight: ONNX Runtime 1.32 cannot load it with the exact kernel."""
    from onnx import helper

    inits, nodes = _qdq_front(np.full((16, 16), 127, np.int8), 0.0005)
    nodes += [
        helper.make_node("MatMul", ["xd", "wd"], ["h"]),
        helper.make_node("QuantizeLinear", ["h", "xs", "xz"], ["hq"]),
        helper.make_node("DequantizeLinear", ["hq", "xs", "xz"], ["hd"]),
        helper.make_node("MatMul", ["hd", "wd"], ["y"]),
    ]
    return _save(path, nodes, inits, 16)


def test_a_graph_the_exact_kernel_cannot_load_is_measured_with_the_default_and_says_so(tmp_path: Path) -> None:
    shared = _shared_weight_matmuls(tmp_path / "shared.onnx")
    session, may_saturate = quality_session(shared)
    assert may_saturate == int8_gemm_saturates()  # on such a host the exact rewrite fails and the default is used
    assert session.run(None, {"x": _inputs(4)})[0].shape == (4, 16)
    data = Dataset(inputs={"x": _inputs()})
    m = measure_candidate(shared, shared, data, tmp_path / "m", latency_seconds=0.1, measure_memory=False)
    if int8_gemm_saturates():
        (note,) = m.notes
        assert "default int8 kernel, which can saturate" in note and EXACT_INT8_OPTION in note
    else:
        assert m.notes == []
