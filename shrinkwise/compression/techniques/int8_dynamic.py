"""Int8 weights with activations quantized on the fly (ONNX Runtime `quantize_dynamic`). No calibration data.

Good for transformer-like graphs (MatMul-heavy, embedding Gathers) and LSTMs on CPU. On CNNs ONNX Runtime turns Conv
into ConvInteger, which runs several times slower than float32 on CPU, so the `auto` preset never quantizes Conv and
refuses, with the reason, a model whose only weights are convolutions (use int8_static there). LSTM layers become
DynamicQuantizeLSTM; ONNX Runtime has no dynamic kernel for GRU or RNN, so those stay float32 and the artifact says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.techniques.base import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # onnx is imported lazily: importing a technique must stay cheap
    import onnx

# Every dynamic-capable op type but Conv: the "auto" preset.
AUTO_OPS = ("MatMul", "Gemm", "Attention", "LSTM", "Gather", "EmbedLayerNormalization")
DynamicOp = Literal["MatMul", "Gemm", "Conv", "Attention", "LSTM", "Gather", "EmbedLayerNormalization"]


class Config(TechniqueConfig):
    technique: Literal["int8_dynamic"] = "int8_dynamic"
    weight_type: Literal["int8", "uint8"] = Field(default="int8", description="Integer type of the stored weights")
    per_channel: bool = Field(
        default=False,
        description="One scale per output channel instead of one per tensor (more accurate, slightly larger)",
    )
    reduce_range: bool = Field(
        default=False,
        description="Quantize weights to 7 bits; avoids overflow on x86 CPUs without VNNI at a small accuracy cost",
    )
    op_preset: Literal["auto", "all_supported"] = Field(
        default="auto",
        description="auto = every type ONNX Runtime supports except Conv (its ConvInteger kernel runs 3-8x slower than "
        "float32 on CPU; measured here); all_supported = ONNX Runtime's own default, Conv included",
    )
    op_types_to_quantize: tuple[DynamicOp, ...] = Field(
        default=(),
        max_length=7,
        description="Explicit op types to quantize; overrides op_preset when not empty",
    )
    nodes_to_exclude: tuple[str, ...] = Field(
        default=(), max_length=10_000, description="Names of nodes that stay float32"
    )
    preprocess: bool = Field(
        default=True,
        description="Run ONNX Runtime's quant_pre_process (shape inference, graph clean-up) first when it works",
    )


# Integer ops that replace a float layer (one each); quantized Gathers are counted by their int8 tables.
INTEGER_OPS = ("ConvInteger", "MatMulInteger", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM", "QAttention")
RECURRENT_OPS = ("LSTM", "GRU", "RNN")


def _quantized_gathers(model: onnx.ModelProto) -> int:
    """Gather nodes that now read an 8-bit table (ORT stores it as `<name>_quantized` and dequantizes the rows)."""
    from onnx import TensorProto

    low = {TensorProto.INT8, TensorProto.UINT8}
    tables = {i.name for i in model.graph.initializer if i.data_type in low and len(i.dims) >= 2}
    return sum(1 for n in model.graph.node if n.op_type == "Gather" and n.input and n.input[0] in tables)


def _unsupported_recurrent(model: onnx.ModelProto) -> dict[str, int]:
    """Recurrent layers this ONNX Runtime cannot quantize dynamically (1.2x-1.3x: GRU and RNN), asked of ORT itself."""
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    from shrinkwise.compression.techniques import _onnx_utils as ou

    counts = ou.op_counts(model)
    return {t: counts[t] for t in RECURRENT_OPS if counts.get(t) and t not in IntegerOpsRegistry}


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from shrinkwise.compression.techniques import _onnx_utils as ou

    yield Progress(fraction=0.0, message="preparing the graph")
    with tempfile.TemporaryDirectory(prefix=".work-", dir=ctx.out_dir) as tmp:
        src, logs = ou.prepared_copy(ctx.onnx_path, Path(tmp), config.preprocess, config.nodes_to_exclude)
        for text in logs:
            yield LogLine(text=text)
        # ORT turns Gemm into MatMul + Add itself but renames the node, so a Gemm in nodes_to_exclude would no
        # longer match. Doing the rewrite here keeps the name on the MatMul.
        model = ou.load(src)
        if ou.gemm_to_matmul(model):
            src = Path(tmp) / "matmul.onnx"
            ou.save(model, src)
        op_types = list(config.op_types_to_quantize)
        if not op_types and config.op_preset == "auto":
            op_types = [t for t in AUTO_OPS if t in ou.op_counts(model)]
            if not op_types:  # an empty list would mean "ORT's default" to quantize_dynamic: ConvInteger
                raise TechniqueError(
                    "int8_dynamic leaves Conv layers in float32 (ONNX Runtime's ConvInteger runs 3-8x slower than "
                    f"float32 on CPU) and this model has nothing else it can quantize (ops: "
                    f"{', '.join(sorted(ou.op_counts(model)))})",
                    path=ctx.onnx_path,
                    fix="use int8_static (QDQ) for convolutional models, or set op_preset='all_supported' to accept "
                    "ConvInteger",
                )
        yield Progress(fraction=0.3, message="quantizing weights to int8")
        out = ctx.out_dir / "model_int8_dynamic.onnx"
        try:
            with ou.quiet():
                quantize_dynamic(
                    str(src),
                    str(out),
                    op_types_to_quantize=op_types or None,
                    per_channel=config.per_channel,
                    reduce_range=config.reduce_range,
                    weight_type=QuantType.QInt8 if config.weight_type == "int8" else QuantType.QUInt8,
                    nodes_to_exclude=list(config.nodes_to_exclude) or None,
                    use_external_data_format=ou.file_bytes(src) > ou.EXTERNAL_DATA_ABOVE,
                )
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise TechniqueError(f"ONNX Runtime dynamic quantization failed: {type(exc).__name__}: {exc}") from exc
    yield Progress(fraction=0.9, message="checking the result")
    model = ou.load(out)
    summary = ou.quant_summary(model)
    counts = ou.op_counts(model)
    gathers = _quantized_gathers(model)
    n_int = sum(counts.get(t, 0) for t in INTEGER_OPS) + gathers
    convs_left = counts.get("Conv", 0)
    if n_int == 0:
        conv_note = (
            f" ({convs_left} Conv layer(s) stay float32 on purpose: ConvInteger is slow on CPU)" if convs_left else ""
        )
        raise TechniqueError(
            "dynamic int8 quantization changed nothing: the model has no MatMul/Gemm/LSTM/Gather layer with constant "
            f"weights that ONNX Runtime can quantize{conv_note}",
            path=ctx.onnx_path,
            fix="use int8_static for Conv layers, check op_types_to_quantize and nodes_to_exclude, or use fp16",
        )
    size = ou.file_bytes(out)
    original = ou.file_bytes(ctx.onnx_path)
    notes = ["Activations are quantized at run time on every call; speed-ups depend on the CPU's int8 support (VNNI)."]
    if convs_left and not config.op_types_to_quantize and config.op_preset == "auto":
        notes.append(
            f"{convs_left} Conv layer(s) were left in float32 on purpose: ONNX Runtime's ConvInteger runs 3-8× slower "
            "than float32 on CPU. For CNNs use int8_static (QDQ) to shrink them too, or set op_preset='all_supported'."
        )
    if summary.get("ConvInteger"):
        notes.append(
            f"{summary['ConvInteger']} Conv layer(s) became ConvInteger, which is known to run 3-8× slower than float32 "
            "on CPU in ONNX Runtime. For CNNs prefer int8_static (QDQ), or set op_types_to_quantize to ['MatMul', 'Gemm']."
        )
    if gathers:
        notes.append(
            f"{gathers} embedding table(s) (Gather) are stored in int8 and dequantized row by row at run time."
        )
    if counts.get("DynamicQuantizeLSTM"):
        notes.append(f"{counts['DynamicQuantizeLSTM']} LSTM layer(s) became DynamicQuantizeLSTM (int8 weights).")
    for op, n in _unsupported_recurrent(model).items():
        notes.append(
            f"{n} {op} layer(s) stay float32: this ONNX Runtime has no dynamic int8 kernel for {op} (it has one for "
            "LSTM only), so they are not smaller."
        )
    if config.reduce_range:
        notes.append("Weights use 7 bits (reduce_range): slightly less accurate, needed only on CPUs without VNNI.")
    yield LogLine(text=f"quantized ops: {summary}")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Quantized {n_int} layer(s) to int8 weights with dynamic int8 activations ({size / max(original, 1):.2f}× the original size).",
        notes=notes,
        details={
            "original_bytes": original,
            "quantized_ops": summary,
            "conv_integer": summary.get("ConvInteger", 0),
            "quantized_gathers": gathers,
            "quantized_lstm": counts.get("DynamicQuantizeLSTM", 0),
        },
    )
