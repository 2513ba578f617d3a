"""Unstructured magnitude pruning: the smallest weights of Conv/Gemm/MatMul layers become exactly zero.

Works on the ONNX initializers directly. With `fine_tune_epochs > 0`, and when the PyTorch model and labelled
training data are there, it prunes in PyTorch instead, fine-tunes with the mask held (pruned weights stay zero), and
exports. The file stays dense: storage shrinks only in a sparse encoding (the artifact reports an estimate), and
dense runtimes such as ONNX Runtime on CPU run no faster.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import (
    Artifact,
    TechniqueConfig,
    TechniqueContext,
    TechniqueEvent,
    TechniqueRun,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


class Config(TechniqueConfig):
    technique: Literal["prune_unstructured"] = "prune_unstructured"
    target_sparsity: float = Field(
        default=0.5, ge=0.0, le=0.99, description="Fraction of the weights (in the pruned layers) set to zero"
    )
    scope: Literal["per_layer", "global"] = Field(
        default="per_layer",
        description="per_layer: every layer reaches the target; global: one magnitude threshold across layers "
        "(layers with small weights lose more)",
    )
    min_elements: int = Field(
        default=256, ge=1, le=1_000_000_000, description="Weight tensors with fewer values are left dense"
    )
    fine_tune_epochs: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Epochs of fine-tuning with the mask held (needs the PyTorch model and labelled training data)",
    )
    lr: float = Field(default=5e-4, gt=0.0, le=1.0, description="Adam learning rate for fine-tuning")
    batch_size: int = Field(default=64, ge=1, le=65_536, description="Batch size for fine-tuning")


def keep_masks(arrays: list[np.ndarray], target: float, scope: str) -> list[np.ndarray]:
    """Boolean keep-masks zeroing exactly round(target × n) smallest-magnitude values, per array or over all."""
    import numpy as np

    if scope == "per_layer":
        masks = []
        for a in arrays:
            flat = np.abs(a).ravel()
            k = int(round(target * flat.size))
            keep = np.ones(flat.size, dtype=bool)
            if k > 0:
                keep[np.argpartition(flat, k - 1)[:k]] = False
            masks.append(keep.reshape(a.shape))
        return masks
    flat = np.concatenate([np.abs(a).ravel() for a in arrays])
    k = int(round(target * flat.size))
    keep = np.ones(flat.size, dtype=bool)
    if k > 0:
        keep[np.argpartition(flat, k - 1)[:k]] = False
    masks, start = [], 0
    for a in arrays:
        masks.append(keep[start : start + a.size].reshape(a.shape))
        start += a.size
    return masks


def sparse_bytes(a: np.ndarray, out_axis: int) -> tuple[int, str]:
    """Smaller of two honest sparse encodings of `a`: bitmask (1 bit per weight + non-zero values) or CSR over
    output-channel rows (values + int32 column indices + int32 row pointers)."""
    import numpy as np

    nnz = int(np.count_nonzero(a))
    item = a.dtype.itemsize
    bitmask = math.ceil(a.size / 8) + nnz * item
    rows = a.shape[out_axis] if a.ndim else 1
    csr = nnz * (item + 4) + (rows + 1) * 4
    return (bitmask, "bitmask") if bitmask <= csr else (csr, "csr")


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    notes: list[str] = []
    tuned = False
    if config.fine_tune_epochs > 0:
        if ctx.torch_model is not None and ctx.train is not None and ctx.train.labels is not None:
            yield from _prune_in_torch(ctx, config)
            tuned = True
        else:
            missing = "the PyTorch model" if ctx.torch_model is None else "labelled training data"
            yield LogLine(
                level="warning", text=f"fine-tuning skipped: {missing} is not available; pruning the ONNX weights only"
            )
            notes.append(
                f"Fine-tuning was asked for but skipped ({missing} missing): weights were pruned without retraining."
            )
    return (yield from _prune_onnx(ctx, config, tuned, notes))


def _prune_in_torch(ctx: TechniqueContext, config: Config) -> Generator[TechniqueEvent, None, None]:
    """Prune the PyTorch model, fine-tune with masks held, export to ctx.out_dir / 'pruned_tuned.onnx'."""
    import torch

    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.techniques import _torch_utils as tu

    tu.seed_everything(ctx.seed)
    device = ctx.torch_device()
    yield Progress(fraction=0.0, message="loading the PyTorch model")
    src = ou.load(ctx.onnx_path)
    input_names, output_names = ou.graph_input_names(src), ou.graph_output_names(src)
    model = ctx.torch_model().to(device)
    # Layer weights by name (works for TorchScript too, where modules are not nn.Linear/nn.Conv instances):
    # every 'weight' with two or more axes, i.e. Linear, Conv and embedding tables, not norms or biases.
    params = [
        p
        for name, p in model.named_parameters()
        if name.rsplit(".", 1)[-1] == "weight" and p.dim() >= 2 and p.numel() >= config.min_elements
    ]
    if not params:
        raise TechniqueError(f"no layer weight has at least {config.min_elements} values", fix="lower min_elements")
    masks_np = keep_masks([p.detach().cpu().numpy() for p in params], config.target_sparsity, config.scope)
    masks = [torch.from_numpy(m).to(device=device, dtype=params[0].dtype) for m in masks_np]

    def hold() -> None:
        with torch.no_grad():
            for p, m in zip(params, masks, strict=False):
                p.mul_(m)

    hold()
    yield LogLine(
        text=f"pruned {len(params)} PyTorch weight tensor(s) to {config.target_sparsity:.0%} sparsity; fine-tuning"
    )
    train, val, held_out = tu.train_val_split(ctx, input_names)
    if held_out:
        yield LogLine(text=f"no validation data: holding out {len(val)} training sample(s) for validation")
    yield from tu.fit(
        model,
        ctx,
        train,
        val,
        epochs=config.fine_tune_epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        device=device,
        after_step=hold,
        progress=(0.05, 0.8),
    )
    hold()
    tuned_sparsity = float(sum(int((p == 0).sum()) for p in params) / sum(p.numel() for p in params))
    yield LogLine(text=f"sparsity after fine-tuning (PyTorch): {tuned_sparsity:.4f}")
    tu.export_onnx(model, tu.example_inputs(train.inputs), input_names, output_names, ctx.out_dir / "pruned_tuned.onnx")


def _prune_onnx(ctx: TechniqueContext, config: Config, tuned: bool, notes: list[str]) -> TechniqueRun:
    import numpy as np
    from onnx import numpy_helper

    from shrinkwise.compression import onnx_utils as ou

    src_path = ctx.out_dir / "pruned_tuned.onnx" if tuned else ctx.onnx_path
    model = ou.load(src_path)
    inits = ou.initializers(model)
    refs = [
        r
        for r in ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul"))
        if int(np.prod(inits[r.name].dims)) >= config.min_elements
    ]
    if not refs:
        if not ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul")):
            raise TechniqueError(
                "the model has no float Conv/Gemm/MatMul weights to prune (is it already quantized?)",
                path=src_path,
                fix="prune before quantizing",
            )
        raise TechniqueError(
            f"no Conv/Gemm/MatMul weight has at least {config.min_elements} values, so nothing can be pruned",
            path=ctx.onnx_path,
            fix="lower min_elements",
        )
    arrays = [numpy_helper.to_array(inits[r.name]) for r in refs]
    if not tuned:
        yield Progress(fraction=0.1, message=f"pruning {len(refs)} weight tensor(s)")
        masks = keep_masks(arrays, config.target_sparsity, config.scope)
        for i, (ref, a, m) in enumerate(zip(refs, arrays, masks, strict=False)):
            arrays[i] = np.where(m, a, np.zeros((), dtype=a.dtype))
            inits[ref.name].CopyFrom(numpy_helper.from_array(arrays[i], ref.name))
            yield Progress(fraction=0.1 + 0.7 * (i + 1) / len(refs), message=f"pruned {ref.name}")
    zeros = sum(int(a.size - np.count_nonzero(a)) for a in arrays)
    total = sum(a.size for a in arrays)
    sparsity = zeros / total
    dense_bytes = 0
    sparse_total = 0
    per_layer = []
    for ref, a in zip(refs, arrays, strict=False):
        enc, kind = sparse_bytes(a, ref.out_axis)
        dense_bytes += a.size * a.dtype.itemsize
        sparse_total += enc
        per_layer.append(
            {
                "name": ref.name,
                "node": ref.node,
                "elements": int(a.size),
                "sparsity": 1 - np.count_nonzero(a) / a.size,
                "encoding": kind,
                "encoded_bytes": enc,
            }
        )
    out = ctx.out_dir / f"model_pruned_{int(round(config.target_sparsity * 100))}.onnx"
    size = ou.save(model, out)
    if tuned:
        (ctx.out_dir / "pruned_tuned.onnx").unlink(missing_ok=True)
    encoded = size - dense_bytes + sparse_total
    original = ou.file_bytes(ctx.onnx_path)
    kinds = sorted({str(p["encoding"]) for p in per_layer})
    notes = [
        *notes,
        "Dense runtimes (ONNX Runtime on CPU and most GPUs) compute the zeros anyway: no speed-up, and the ONNX file "
        "keeps its size; zeros only help when compressed or stored sparse.",
        f"Encoded size is an estimate of a sparse encoding ({' / '.join(kinds)}: per tensor the smaller of a bitmask "
        "plus non-zero values, or CSR with int32 indices), with everything else as stored.",
    ]
    if not tuned and config.target_sparsity > 0.3:
        notes.append(
            "Pruned without fine-tuning: above ~30-50 % sparsity accuracy often drops; fine-tuning recovers much of it."
        )
    yield LogLine(text=f"sparsity {sparsity:.4f} over {len(refs)} tensor(s); sparse estimate {encoded:,} bytes")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        encoded_size_bytes=int(encoded),
        summary=f"Set {sparsity:.1%} of the weights in {len(refs)} layer(s) to zero ({config.scope.replace('_', '-')} magnitude"
        + (f", fine-tuned {config.fine_tune_epochs} epoch(s)" if tuned else "")
        + f"); sparse encoding ≈ {encoded / max(original, 1):.2f}× the original size.",
        notes=notes,
        details={
            "original_bytes": original,
            "sparsity": sparsity,
            "target_sparsity": config.target_sparsity,
            "scope": config.scope,
            "fine_tuned": tuned,
            "sparse_encoding": "min(bitmask, csr) per tensor",
            "pruned_dense_bytes": dense_bytes,
            "pruned_sparse_bytes": sparse_total,
            "layers": per_layer,
        },
    )
