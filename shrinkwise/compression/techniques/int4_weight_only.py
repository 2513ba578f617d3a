"""Block-wise 4-bit weights for MatMul layers (ONNX Runtime `MatMulNBitsQuantizer`); activations stay float.

The quantizer handles MatMul (and Gather) but not Gemm, so `Linear` layers exported as Gemm are first rewritten as
MatMul + Add. If no layer can be quantized the step fails instead of returning an unchanged model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError, runtime_error_text
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun
from shrinkwise.compression.techniques._int4_tables import other_gathers, with_int4_opset


class Config(TechniqueConfig):
    technique: Literal["int4_weight_only"] = "int4_weight_only"
    block_size: Literal[16, 32, 64, 128, 256] = Field(
        default=128, description="Weights per block sharing one scale (smaller = more accurate, larger file)"
    )
    is_symmetric: bool = Field(
        default=False, description="Symmetric blocks (no zero point): slightly smaller, usually a little less accurate"
    )
    accuracy_level: Literal[0, 1, 2, 3, 4] = Field(
        default=0,
        description="Compute type of the 4-bit kernel: 0 = runtime default, 1 = fp32, 2 = fp16, 3 = bf16, 4 = int8 (fastest on CPU, least accurate)",
    )
    rewrite_gemm: bool = Field(
        default=True, description="Rewrite Gemm (Linear) as MatMul + Add so that Linear layers are quantized too"
    )
    quantize_embeddings: bool = Field(
        default=False, description="Also quantize Gather embedding tables (GatherBlockQuantized)"
    )
    nodes_to_exclude: tuple[str, ...] = Field(
        default=(), max_length=10_000, description="Names of MatMul/Gemm/Gather nodes that stay float32"
    )


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    from shrinkwise.compression import onnx_utils as ou

    yield Progress(fraction=0.0, message="reading the model")
    model = ou.load_named(ctx.onnx_path, config.nodes_to_exclude, "nodes_to_exclude")
    rewritten = ou.gemm_to_matmul(model) if config.rewrite_gemm else 0
    if rewritten:
        yield LogLine(text=f"rewrote {rewritten} Gemm node(s) as MatMul + Add so the 4-bit quantizer covers them")
    op_types = ("MatMul", "Gather") if config.quantize_embeddings else ("MatMul",)
    eligible = ou.weight_refs(model, op_types)
    candidates = [r for r in eligible if r.node not in set(config.nodes_to_exclude)]
    if eligible and not candidates:
        raise TechniqueError(
            f"no layer can take 4-bit weights: all {len(eligible)} eligible layer(s) are in nodes_to_exclude",
            path=ctx.onnx_path,
            fix="exclude fewer nodes",
        )
    if not candidates:
        remaining_gemm = ou.op_counts(model).get("Gemm", 0)
        hint = (
            f" ({remaining_gemm} Gemm node(s) could not be rewritten: transposed input, alpha/beta ≠ 1 or a non-constant weight)"
            if remaining_gemm
            else ""
        )
        raise TechniqueError(
            f"no layer can take 4-bit weights: the model has no MatMul with a constant 2-D weight{hint}",
            path=ctx.onnx_path,
            fix="use int8_dynamic or fp16 for this model",
        )
    yield Progress(fraction=0.2, message=f"quantizing {len(candidates)} weight tensor(s) to 4 bits")
    exclude = list(config.nodes_to_exclude)
    try:
        if config.quantize_embeddings:
            # Only the float tables found above; an int64 shape Gather would break the quantizer. The 4-bit tables
            # need opset 21, converted by ONNX (the quantizer would only relabel it and leave invalid ops).
            inits = ou.initializers(model)
            tables = [r.node for r in candidates if r.op_type == "Gather" and len(inits[r.name].dims) >= 2]
            exclude += other_gathers(model, tables)
            if tables:
                model = with_int4_opset(model)
        with ou.quiet():
            quant = MatMulNBitsQuantizer(
                model,
                bits=4,
                block_size=config.block_size,
                is_symmetric=config.is_symmetric,
                accuracy_level=config.accuracy_level or None,
                nodes_to_exclude=exclude,
                op_types_to_quantize=op_types,
            )
            quant.process()
    except Exception as exc:  # noqa: BLE001 - one line for the user
        raise TechniqueError(
            f"ONNX Runtime 4-bit quantization failed ({type(exc).__name__}: {runtime_error_text(exc)})",
            path=ctx.onnx_path,
            fix="check that the model runs in ONNX Runtime, or keep the named node in float",
        ) from exc
    result = quant.model.model
    summary = ou.quant_summary(result)
    n_q = summary.get("MatMulNBits", 0) + summary.get("GatherBlockQuantized", 0)
    if n_q == 0:
        raise TechniqueError(
            "the 4-bit quantizer left every layer unchanged (no eligible MatMul weight)",
            path=ctx.onnx_path,
            fix="use int8_dynamic or fp16 for this model",
        )
    yield Progress(fraction=0.9, message="saving")
    out = ctx.out_dir / "model_int4.onnx"
    size = ou.save(result, out)
    original = ou.file_bytes(ctx.onnx_path)
    left = ou.op_counts(result)
    float_mm = left.get("MatMul", 0) + left.get("Gemm", 0) + left.get("Conv", 0)
    notes = [
        "Only weights are 4-bit; activations and compute stay float, so latency on CPU is often about the same as "
        "float32 (sometimes slower): the gain is storage and memory bandwidth.",
    ]
    if float_mm:
        notes.append(f"{float_mm} MatMul/Gemm/Conv node(s) stay float32 (Conv is not covered by this quantizer).")
    if left.get("Gather", 0) and not config.quantize_embeddings:
        notes.append("Embedding tables (Gather) stay float32; quantize_embeddings=True would shrink them too.")
    yield LogLine(text=f"quantized: {summary}")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Quantized {n_q} weight tensor(s) to 4 bits in blocks of {config.block_size} "
        f"({size / max(original, 1):.2f}× the original size).",
        notes=notes,
        details={
            "original_bytes": original,
            "quantized_ops": summary,
            "gemm_rewritten": rewritten,
            "float_layers_left": float_mm,
        },
    )
