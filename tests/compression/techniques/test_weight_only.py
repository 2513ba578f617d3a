"""Palettization and unstructured pruning: storage encodings computed honestly, ONNX Runtime still runs the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import MetricPoint
from shrinkwise.compression.measure.quality import sqnr_db
from shrinkwise.compression.technique_api import TechniqueContext
from shrinkwise.compression.techniques import palettize, prune_unstructured
from tests.compression.techniques.helpers import Task, accuracy, outputs, run


def weights(path: Path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    out = {}
    for n in model.graph.node:
        if n.op_type in ("Conv", "Gemm", "MatMul") and n.input[1] in inits:
            out[n.input[1]] = numpy_helper.to_array(inits[n.input[1]])
    return out


def test_kmeans_1d_is_deterministic_and_exact_on_few_values() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=5000)
    a = palettize.kmeans_1d(v, 16, 30)
    b = palettize.kmeans_1d(v, 16, 30)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 16 and np.all(np.diff(a) > 0)
    # three distinct values need only three centres, reproduced exactly
    few = np.array([1.0, 1.0, -2.0, 3.5, 3.5])
    np.testing.assert_array_equal(palettize.kmeans_1d(few, 16, 10), [-2.0, 1.0, 3.5])
    # Lloyd improves on the quantile initialisation
    init = np.quantile(v, (np.arange(16) + 0.5) / 16)

    def err(c: np.ndarray) -> float:
        return float(np.sum((v - c[palettize.assign(v, c)]) ** 2))

    assert err(a) < err(init)


def test_palettize_4bit(wide_mlp_path: Path, tmp_path: Path) -> None:
    ctx = TechniqueContext(onnx_path=wide_mlp_path, out_dir=tmp_path)
    events, art = run(palettize.apply, ctx, palettize.Config(bits=4, min_elements=1024))
    after = weights(tmp_path / art.path)
    before = weights(wide_mlp_path)
    fp32_bytes = sum(w.nbytes for w in before.values())
    for name, w in after.items():
        if before[name].size >= 1024:
            assert len(np.unique(w)) <= 16, name
    assert art.encoded_size_bytes is not None
    ratio = art.encoded_size_bytes / fp32_bytes
    x = np.random.default_rng(5).normal(size=(200, 256)).astype(np.float32)
    q = sqnr_db(outputs(wide_mlp_path, x), outputs(tmp_path / art.path, x))
    print(f"palettize 4-bit: encoded {ratio:.3f}x of fp32 weight bytes, output SQNR {q:.1f} dB")
    assert ratio < 0.2
    assert q >= 15.0
    assert art.size_bytes >= 0.9 * art.details["original_bytes"]  # the file itself is not smaller: say so
    assert any("Latency is unchanged" in n for n in art.notes)
    assert sum(isinstance(e, MetricPoint) for e in events) == len(art.details["tensors"])


def test_palettize_grouped_and_fp32_tables(cnn_task: Task, tmp_path: Path) -> None:
    ctx = cnn_task.ctx(tmp_path)
    _, art = run(
        palettize.apply,
        ctx,
        palettize.Config(bits=2, granularity="per_grouped_channel", group_size=4, lut_dtype="fp32", min_elements=500),
    )
    for t in art.details["tensors"]:
        assert t["tables"] > 1
    after = weights(tmp_path / art.path)
    name = art.details["tensors"][0]["name"]
    w = after[name]
    rows = np.moveaxis(w, 0, 0).reshape(w.shape[0], -1)
    for g in range(0, rows.shape[0], 4):
        assert len(np.unique(rows[g : g + 4])) <= 4
    x = cnn_task.validation.inputs["x"]
    assert accuracy(outputs(tmp_path / art.path, x), cnn_task.validation.labels) >= 0.8


def test_palettize_nothing_big_enough(mlp_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="min_elements"):
        run(palettize.apply, mlp_task.ctx(tmp_path), palettize.Config(min_elements=10**8))


@pytest.mark.parametrize("scope", ["per_layer", "global"])
def test_prune_unstructured_hits_target(cnn_task: Task, tmp_path: Path, scope: str) -> None:
    ctx = cnn_task.ctx(tmp_path, torch_model=None, train=None)
    target = 0.6
    _, art = run(
        prune_unstructured.apply, ctx, prune_unstructured.Config(target_sparsity=target, scope=scope, min_elements=100)
    )
    after = weights(tmp_path / art.path)
    big = [w for w in after.values() if w.size >= 100]
    real = sum(int(np.sum(w == 0)) for w in big) / sum(w.size for w in big)
    print(
        f"prune {scope}: real sparsity {real:.4f}, encoded {art.encoded_size_bytes / art.details['original_bytes']:.3f}x"
    )
    assert abs(real - target) <= 0.01
    assert abs(art.details["sparsity"] - real) < 1e-9
    if scope == "per_layer":
        for w in big:
            assert abs(float(np.mean(w == 0)) - target) <= 0.01
    assert art.encoded_size_bytes is not None and art.encoded_size_bytes < art.size_bytes
    assert any("no speed-up" in n for n in art.notes)
    x = cnn_task.validation.inputs["x"]
    outputs(tmp_path / art.path, x)  # still runs


def test_prune_unstructured_with_fine_tuning(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path)
    events, art = run(
        prune_unstructured.apply,
        ctx,
        prune_unstructured.Config(target_sparsity=0.8, fine_tune_epochs=2, min_elements=100),
    )
    assert art.details["fine_tuned"]
    assert abs(art.details["sparsity"] - 0.8) <= 0.01
    assert [e.series for e in events if isinstance(e, MetricPoint)].count("train_loss") == 2
    x = mlp_task.validation.inputs["x"]
    acc = accuracy(outputs(tmp_path / art.path, x), mlp_task.validation.labels)
    print(f"prune 80% + 2 epochs: accuracy {acc:.3f}")
    assert acc >= 0.9


def test_prune_unstructured_fine_tuning_skipped_without_torch(mlp_task: Task, tmp_path: Path) -> None:
    ctx = mlp_task.ctx(tmp_path, torch_model=None)
    _, art = run(prune_unstructured.apply, ctx, prune_unstructured.Config(fine_tune_epochs=2, min_elements=100))
    assert not art.details["fine_tuned"]
    assert any("skipped" in n for n in art.notes)


def test_palettize_stops_on_time_budget(mlp_task: Task, tmp_path: Path) -> None:
    with pytest.raises(TechniqueError, match="time budget"):
        run(palettize.apply, mlp_task.ctx(tmp_path, time_budget_s=0.0), palettize.Config(min_elements=100))


def test_pruning_fine_tunes_a_torchscript_model(mlp_task: Task, tmp_path: Path) -> None:
    """In a chained plan the PyTorch model after structured pruning is TorchScript; masks must still find the weights."""
    import torch

    from shrinkwise.compression.techniques import _torch_utils as tu

    ts = tmp_path / "m.pt"
    assert tu.save_torchscript(mlp_task.factory(), [torch.from_numpy(mlp_task.train.inputs["x"][:1])], ts) is None
    ctx = mlp_task.ctx(tmp_path / "out", torch_model=lambda: tu.load_torchscript(ts))
    _, art = run(
        prune_unstructured.apply,
        ctx,
        prune_unstructured.Config(target_sparsity=0.7, fine_tune_epochs=1, min_elements=100),
    )
    assert art.details["fine_tuned"] and abs(art.details["sparsity"] - 0.7) <= 0.01


def test_already_quantized_models_are_explained(mlp_task: Task, tmp_path: Path) -> None:
    from shrinkwise.compression.techniques import int4_weight_only

    _, q = run(int4_weight_only.apply, mlp_task.ctx(tmp_path / "q"), int4_weight_only.Config(block_size=16))
    ctx = TechniqueContext(onnx_path=tmp_path / "q" / q.path, out_dir=tmp_path / "p")
    ctx.out_dir.mkdir()
    for module, cfg in (
        (palettize, palettize.Config(min_elements=10)),
        (prune_unstructured, prune_unstructured.Config(min_elements=10)),
    ):
        with pytest.raises(TechniqueError, match="already quantized"):
            run(module.apply, ctx, cfg)
