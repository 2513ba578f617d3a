"""fp16, int8 dynamic, int8 static and int4 weight-only: real ONNX Runtime outputs against the float model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import Progress
from shrinkwise.compression.measure.quality import sqnr_db
from shrinkwise.compression.technique_api import TechniqueContext
from shrinkwise.compression.techniques import fp16, int4_weight_only, int8_dynamic, int8_static
from tests.compression.techniques.helpers import Task, outputs, run, x86_without_vnni


def ops(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in onnx.load(str(path)).graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def test_fp16_keeps_quality_and_halves_size(cnn_task: Task, tmp_path: Path) -> None:
    ctx = cnn_task.ctx(tmp_path)
    events, art = run(fp16.apply, ctx, fp16.Config())
    x = cnn_task.validation.inputs["x"]
    ref, got = outputs(cnn_task.onnx_path, x), outputs(tmp_path / art.path, x)
    assert got.dtype == np.float32  # keep_io_types
    q = sqnr_db(ref, got)
    print(f"fp16 CNN SQNR {q:.1f} dB, size ratio {art.size_bytes / art.details['original_bytes']:.3f}")
    assert q >= 40.0
    assert art.size_bytes < 0.6 * art.details["original_bytes"]
    assert any(isinstance(e, Progress) for e in events)


def test_fp16_block_list_keeps_op_float(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path)
    _, art = run(fp16.apply, ctx, fp16.Config(keep_float_op_types=("Gemm",)))
    model = onnx.load(str(tmp_path / art.path))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Gemm":
            assert inits[node.input[1]].data_type == onnx.TensorProto.FLOAT


def test_int8_dynamic_mlp(mlp_task: Task, tmp_path: Path) -> None:
    _, art = run(int8_dynamic.apply, mlp_task.ctx(tmp_path), int8_dynamic.Config())
    x = mlp_task.validation.inputs["x"]
    q = sqnr_db(outputs(mlp_task.onnx_path, x), outputs(tmp_path / art.path, x))
    print(f"int8 dynamic MLP SQNR {q:.1f} dB")
    assert q >= 20.0
    assert art.details["conv_integer"] == 0


def test_int8_dynamic_notes_conv_integer(cnn_task: Task, tmp_path: Path) -> None:
    # ONNX Runtime's own default makes slow ConvInteger nodes, and the artifact says so
    _, art = run(int8_dynamic.apply, cnn_task.ctx(tmp_path), int8_dynamic.Config(op_preset="all_supported"))
    assert art.details["conv_integer"] >= 1
    assert any("ConvInteger" in n and "slower" in n for n in art.notes)
    # the default ("auto") leaves Conv in float, quantizes the Linear layers, and explains why
    _, art2 = run(int8_dynamic.apply, cnn_task.ctx(tmp_path / "b"), int8_dynamic.Config())
    graph = ops(tmp_path / "b" / art2.path)
    assert "ConvInteger" not in graph and "Conv" in graph
    assert art2.details["quantized_ops"] and any("left in float32 on purpose" in n for n in art2.notes)


def test_int8_static_cnn(cnn_task: Task, tmp_path: Path) -> None:
    _, art = run(int8_static.apply, cnn_task.ctx(tmp_path), int8_static.Config(calibration_samples=64))
    x = cnn_task.validation.inputs["x"]
    q = sqnr_db(outputs(cnn_task.onnx_path, x), outputs(tmp_path / art.path, x))
    print(f"int8 static CNN SQNR {q:.1f} dB, size ratio {art.size_bytes / art.details['original_bytes']:.3f}")
    assert q >= 20.0
    assert art.details["op_preset"] == "all_supported"
    assert ops(tmp_path / art.path).get("QuantizeLinear", 0) > 0
    assert art.size_bytes < 0.5 * art.details["original_bytes"]


@pytest.mark.parametrize("method", ["Entropy", "Percentile"])
def test_int8_static_other_calibrations(cnn_task: Task, tmp_path: Path, method: str) -> None:
    _, art = run(
        int8_static.apply, cnn_task.ctx(tmp_path), int8_static.Config(calibrate_method=method, calibration_samples=32)
    )
    x = cnn_task.validation.inputs["x"][:100]
    assert sqnr_db(outputs(cnn_task.onnx_path, x), outputs(tmp_path / art.path, x)) >= 15.0


def test_int8_static_needs_calibration(cnn_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="calibration data"):
        run(int8_static.apply, cnn_task.ctx(tmp_path, calibration=None), int8_static.Config())


def test_int4_shrinks_wide_mlp(wide_mlp_path: Path, tmp_path: Path) -> None:
    ctx = TechniqueContext(onnx_path=wide_mlp_path, out_dir=tmp_path)
    _, art = run(int4_weight_only.apply, ctx, int4_weight_only.Config())
    assert art.details["gemm_rewritten"] == 3
    x = np.random.default_rng(5).normal(size=(200, 256)).astype(np.float32)
    q = sqnr_db(outputs(wide_mlp_path, x), outputs(tmp_path / art.path, x))
    ratio = art.details["original_bytes"] / art.size_bytes
    print(f"int4 wide MLP SQNR {q:.1f} dB, {ratio:.2f}x smaller")
    assert ratio >= 2.0
    assert q >= 12.0
    assert ops(tmp_path / art.path).get("MatMulNBits") == 3


def test_int4_refuses_model_without_matmul(cnn_task: Task, tmp_path: Path) -> None:
    # Only the Linear layers are eligible; excluding them leaves nothing, which must be an error, not a no-op.
    model = onnx.load(str(cnn_task.onnx_path))
    gemms = tuple(n.name for n in model.graph.node if n.op_type == "Gemm")
    with pytest.raises(TechniqueError, match="no layer can take 4-bit weights"):
        run(int4_weight_only.apply, cnn_task.ctx(tmp_path), int4_weight_only.Config(nodes_to_exclude=gemms))


def test_int8_static_auto_preset_spares_layernorm_and_softmax(tmp_path: Path) -> None:
    """On a transformer-like block, only MatMul/Gemm inputs get Q/DQ (what kept MiniLM at cos 0.997 in peer tests)."""
    import torch

    from shrinkwise.compression.technique_api import LabelledData
    from tests.compression.techniques.helpers import export

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = (torch.nn.Linear(32, 32) for _ in range(3))
            self.norm = torch.nn.LayerNorm(32)
            self.out = torch.nn.Linear(32, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [batch, tokens, 32]
            att = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) / 32**0.5, dim=-1)
            h = self.norm(x + att @ self.v(x))
            return self.out(h.mean(dim=1))

    torch.manual_seed(0)
    path = export(Block().eval(), torch.randn(1, 6, 32), tmp_path / "block.onnx")
    x = np.random.default_rng(0).normal(size=(64, 6, 32)).astype(np.float32)
    ctx = TechniqueContext(onnx_path=path, out_dir=tmp_path / "out", calibration=LabelledData({"x": x}))
    ctx.out_dir.mkdir()
    # reduce_range where the advisor asks for it (x86 without VNNI: 16-bit sums saturate at full 8-bit range)
    config = int8_static.Config(preprocess=False, reduce_range=x86_without_vnni())
    _, art = run(int8_static.apply, ctx, config)
    assert art.details["op_preset"] == "weight_ops_only"
    model = onnx.load(str(ctx.out_dir / art.path))
    producers = {o: n for n in model.graph.node for o in n.output}
    fed = {
        n.op_type
        for n in model.graph.node
        for i in n.input
        if i in producers and producers[i].op_type == "DequantizeLinear"
    }
    assert fed <= {"MatMul", "Gemm"}, fed
    q = sqnr_db(outputs(path, x), outputs(ctx.out_dir / art.path, x))
    print(f"int8 static transformer-like block SQNR {q:.1f} dB")
    assert q >= 20.0


def test_quantizer_temp_files_never_land_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORT writes sym_shape_infer_temp.onnx / <uuid>.data into the cwd for large models; quiet() gives it a scratch dir."""
    from shrinkwise.compression import onnx_utils as ou

    monkeypatch.chdir(tmp_path)
    with ou.quiet():
        Path("sym_shape_infer_temp.onnx").write_text("what ORT leaves behind")
        scratch = Path.cwd()
    assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []
    assert not scratch.exists()
