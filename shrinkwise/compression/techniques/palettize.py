"""Palettization: each weight tensor (or group of output channels) is clustered to 2^bits shared values.

The stored encoding is an n-bit index per weight plus a small lookup table per tensor or group. ONNX Runtime cannot
run lookup-table weights, so the ONNX file holds the de-clustered values (every weight replaced by its cluster
centre): accuracy is exactly that of the encoding, storage is `encoded_size_bytes`, and latency is unchanged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine, MetricPoint, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# Above this many values a tensor's clusters are fitted on a seeded random subsample (then every value is assigned).
_FIT_SAMPLE = 1 << 20


class Config(TechniqueConfig):
    technique: Literal["palettize"] = "palettize"
    bits: int = Field(default=4, ge=1, le=8, description="Index bits per weight: 2^bits shared values per table")
    granularity: Literal["per_tensor", "per_grouped_channel"] = Field(
        default="per_tensor",
        description="One table per tensor, or one per group of output channels (more accurate, more tables)",
    )
    group_size: int = Field(
        default=16, ge=1, le=65_536, description="Output channels per table (per_grouped_channel only)"
    )
    lut_dtype: Literal["fp16", "fp32"] = Field(
        default="fp16", description="Precision of the stored table values (fp16 halves the table size)"
    )
    min_elements: int = Field(
        default=2048,
        ge=1,
        le=1_000_000_000,
        description="Only weight tensors with at least this many values are palettized",
    )
    iterations: int = Field(default=25, ge=1, le=300, description="Most k-means (Lloyd) iterations per table")


def kmeans_1d(values: np.ndarray, k: int, iterations: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Sorted cluster centres of 1-D `values`: quantile initialisation then Lloyd iterations. Deterministic.

    In 1-D each cluster is a contiguous run of the sorted values, so one sort plus prefix sums make every iteration
    O(k log n).
    """
    import numpy as np

    v = np.asarray(values, dtype=np.float64).ravel()
    if rng is not None and v.size > _FIT_SAMPLE:
        v = rng.choice(v, size=_FIT_SAMPLE, replace=False)
    v = np.sort(v)
    uniq = np.unique(v)
    if uniq.size <= k:
        return uniq
    centers = np.unique(np.quantile(v, (np.arange(k) + 0.5) / k))
    csum = np.concatenate([[0.0], np.cumsum(v)])
    n = v.size
    for _ in range(iterations):
        bounds = (centers[1:] + centers[:-1]) / 2
        edges = np.concatenate([[0], np.searchsorted(v, bounds, side="left"), [n]])
        counts = np.diff(edges)
        sums = csum[edges[1:]] - csum[edges[:-1]]
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        new = np.unique(new)
        if new.size == centers.size and np.allclose(
            new, centers, rtol=0, atol=1e-12 * (abs(v[-1]) + abs(v[0]) + 1e-30)
        ):
            centers = new
            break
        centers = new
    return centers


def assign(values: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each value (centres sorted)."""
    import numpy as np

    if centers.size == 1:
        return np.zeros(values.shape, dtype=np.int64)
    bounds = (centers[1:] + centers[:-1]) / 2
    return np.searchsorted(bounds, values, side="left")


def palettize_array(
    w: np.ndarray,
    bits: int,
    out_axis: int,
    group_size: int | None,
    lut_dtype: str,
    iterations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """De-clustered copy of `w` (same dtype) and the number of tables used."""
    import numpy as np

    k = 1 << bits
    # The table is stored at the lower of the two precisions, so the file equals the encoding exactly.
    table_type = np.float16 if lut_dtype == "fp16" or w.dtype == np.float16 else np.float32
    x = np.moveaxis(np.asarray(w, dtype=np.float64), out_axis, 0)
    rows = x.reshape(x.shape[0], -1)
    out = np.empty_like(rows)
    step = rows.shape[0] if group_size is None else group_size
    tables = 0
    for start in range(0, rows.shape[0], step):
        block = rows[start : start + step]
        centers = kmeans_1d(block, k, iterations, rng)
        table = centers.astype(table_type).astype(np.float64)  # exactly what the encoding stores
        out[start : start + step] = table[assign(block, table)]
        tables += 1
    result = np.moveaxis(out.reshape(x.shape), 0, out_axis).astype(w.dtype)
    return result, tables


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    import numpy as np
    from onnx import numpy_helper

    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.measure.quality import sqnr_db

    yield Progress(fraction=0.0, message="reading the model")
    model = ou.load(ctx.onnx_path)
    inits = ou.initializers(model)
    refs = [
        r
        for r in ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"))
        if int(np.prod(inits[r.name].dims)) >= config.min_elements
    ]
    if not refs and not ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul", "Gather")):
        raise TechniqueError(
            "the model has no float weight tensors to palettize (is it already quantized?)",
            path=ctx.onnx_path,
            fix="palettize the float model",
        )
    if not refs:
        raise TechniqueError(
            f"no weight tensor has at least {config.min_elements} values, so nothing was palettized",
            path=ctx.onnx_path,
            fix="lower min_elements",
        )
    rng = np.random.default_rng(ctx.seed)
    lut_bytes = 2 if config.lut_dtype == "fp16" else 4
    replaced_bytes = 0
    encoded_bytes = 0
    per_tensor: list[dict[str, object]] = []
    stopped_at: int | None = None
    for i, ref in enumerate(refs):
        if ctx.over_time_budget():
            stopped_at = i
            yield LogLine(level="warning", text=f"time budget spent: stopping after {i} of {len(refs)} tensor(s)")
            break
        init = inits[ref.name]
        w = numpy_helper.to_array(init)
        grouped = config.granularity == "per_grouped_channel"
        new, tables = palettize_array(
            w,
            config.bits,
            ref.out_axis,
            config.group_size if grouped else None,
            config.lut_dtype,
            config.iterations,
            rng,
        )
        init.CopyFrom(numpy_helper.from_array(new, ref.name))
        idx_bytes = math.ceil(w.size * config.bits / 8)
        enc = idx_bytes + tables * (1 << config.bits) * lut_bytes
        replaced_bytes += w.size * w.dtype.itemsize
        encoded_bytes += enc
        quality = sqnr_db(w, new)
        per_tensor.append(
            {
                "name": ref.name,
                "node": ref.node,
                "elements": int(w.size),
                "tables": tables,
                "distinct_values": int(np.unique(new).size),
                "encoded_bytes": enc,
                "sqnr_db": quality,
            }
        )
        yield MetricPoint(series="weight_sqnr_db", step=i + 1, value=min(quality, 300.0))
        yield Progress(
            fraction=0.05 + 0.85 * (i + 1) / len(refs), message=f"palettized {ref.name} ({i + 1}/{len(refs)})"
        )
    if not per_tensor:
        raise TechniqueError("the time budget was spent before any tensor was palettized", fix="raise the time budget")
    yield Progress(fraction=0.92, message="saving")
    out = ctx.out_dir / f"model_palettized_{config.bits}bit.onnx"
    size = ou.save(model, out)
    total_encoded = size - replaced_bytes + encoded_bytes
    original = ou.file_bytes(ctx.onnx_path)
    skipped = len(ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"))) - len(refs)
    n_done = len(per_tensor)
    notes = [
        "Accuracy is exact to the encoding: the ONNX file holds every weight replaced by its table value.",
        f"Storage is the encoded size ({total_encoded:,} bytes: {config.bits}-bit indices plus {config.lut_dtype} tables, "
        "other tensors and the graph as they are); the ONNX file itself stays full size.",
        "Latency is unchanged on ONNX Runtime, which has no lookup-table weights; runtimes such as Core ML can store "
        "and run the palettized form.",
    ]
    if stopped_at is not None:
        notes.append(
            f"Stopped on the time budget: {stopped_at} of {len(refs)} eligible tensor(s) palettized, the rest unchanged "
            "(the encoded size counts them at full size)."
        )
    if skipped:
        notes.append(f"{skipped} weight tensor(s) smaller than {config.min_elements} values were left as they are.")
    worst = min(per_tensor, key=lambda t: t["sqnr_db"])  # type: ignore[arg-type, return-value]
    yield LogLine(
        text=f"palettized {n_done} tensor(s); worst weight SQNR {worst['sqnr_db']:.1f} dB ({worst['name']}); "
        f"encoded {total_encoded:,} bytes vs {original:,}"
    )
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        encoded_size_bytes=int(total_encoded),
        summary=f"Clustered {n_done} weight tensor(s) to {1 << config.bits} values "
        f"({config.granularity.replace('_', ' ')}): encoded size {total_encoded / max(original, 1):.2f}× the original.",
        notes=notes,
        details={
            "original_bytes": original,
            "encoding": f"{config.bits}-bit packed indices + {config.lut_dtype} lookup tables",
            "palettized_fp_bytes": replaced_bytes,
            "palettized_encoded_bytes": encoded_bytes,
            "tensors": per_tensor,
        },
    )
