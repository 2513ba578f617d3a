"""Int8 weights with activations quantized on the fly (ONNX Runtime `quantize_dynamic`). No calibration data.

Good for transformer-like graphs (MatMul-heavy, embedding Gathers) and LSTMs on CPU. On CNNs ONNX Runtime turns Conv
into ConvInteger, which runs several times slower than float32 on CPU, so the `auto` preset never quantizes Conv and
refuses, with the reason, a model whose only weights are convolutions (use int8_static there). LSTM layers become
DynamicQuantizeLSTM; ONNX Runtime has no dynamic kernel for GRU or RNN, so those stay float32 and the artifact says so.

`embedding_bits=4` stores the large embedding tables (vocabularies: half the weights of a small BERT) in 4-bit
blocks instead of int8, read by ONNX Runtime's GatherBlockQuantized (com.microsoft) kernel, which dequantizes only
the rows a call looks up. That takes MiniLM-L6 from 3.9x to 5x smaller at a cosine still above 0.99 (bench/).

`fuse_attention="auto"` first fuses a transformer encoder into ONNX Runtime's Attention / SkipLayerNormalization /
BiasGelu contrib ops, as ORT's own BERT recipe does (`_transformer_fusion`; the embeddings stay Gathers), so that
quantize_dynamic writes QAttention: one int8 product for Q, K and V and a fused attention kernel, faster on CPU than
the unfused int8 graph. The fused float32 graph is checked against the original before it is used; anything that
does not fuse, or does not match, is quantized unfused as before, and the log says why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError, runtime_error_text
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun
from shrinkwise.compression.techniques._int4_tables import INT4_OPSET, default_opset, other_gathers, with_int4_opset

if TYPE_CHECKING:  # onnx is imported lazily: importing a technique must stay cheap
    import onnx

    from shrinkwise.compression.techniques._transformer_fusion import FusionReport

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
    embedding_bits: Literal[8, 4] = Field(
        default=8,
        description="Bits of the large embedding tables (Gather tables with at least 2048 rows, e.g. a vocabulary): "
        "8 = int8 like the other weights; 4 = 4-bit blocks read by ONNX Runtime's GatherBlockQuantized kernel (the "
        "model's opset is raised to 21). Smaller tables (positions, token types) stay int8; activations are not "
        "affected; needs Gather among the quantized op types",
    )
    embedding_block_size: Literal[16, 32, 64, 128, 256] = Field(
        default=64,
        description="With embedding_bits=4: values per block sharing one scale and zero point along a table row "
        "(smaller = more accurate, larger file; 64 measured cos 0.992 on MiniLM-L6, 128 a little smaller, 0.992)",
    )
    fuse_attention: Literal["auto", "off"] = Field(
        default="auto",
        description="auto = on a transformer, first fuse attention, residual LayerNorms and GELU into "
        "ONNX Runtime's contrib ops (its BERT recipe), so attention becomes QAttention (faster on CPU; its Q/K/V "
        "weights use 7 bits, as ONNX Runtime always quantizes them); checked against the float graph and skipped, "
        "with the reason in the log, when it does not fuse or match; off = quantize the graph as exported",
    )


# Integer ops that replace a float layer (one each); quantized Gathers are counted by their int8 tables.
INTEGER_OPS = (
    "ConvInteger",
    "MatMulInteger",
    "DynamicQuantizeMatMul",
    "DynamicQuantizeLSTM",
    "QAttention",
    "QEmbedLayerNormalization",
)
RECURRENT_OPS = ("LSTM", "GRU", "RNN")


def _quantized_gathers(model: onnx.ModelProto) -> int:
    """Gather nodes that now read an 8-bit table (ORT stores it as `<name>_quantized` and dequantizes the rows)."""
    from onnx import TensorProto

    low = {TensorProto.INT8, TensorProto.UINT8}
    tables = {i.name for i in model.graph.initializer if i.data_type in low and len(i.dims) >= 2}
    return sum(1 for n in model.graph.node if n.op_type == "Gather" and n.input and n.input[0] in tables)


# 4-bit tables: Gathers whose float table has at least this many rows. Vocabularies have tens of thousands; position
# and token-type tables (512 / 2 rows in BERT) are small, cost little in int8, and lost more cosine at 4 bits.
INT4_TABLE_MIN_ROWS = 2048


def large_tables(model: onnx.ModelProto, exclude: tuple[str, ...] = ()) -> list[str]:
    """Names of the Gather nodes whose table is large enough for 4 bits (a 2-D float table, row-wise blocks)."""
    from shrinkwise.compression import onnx_utils as ou

    inits = ou.initializers(model)
    return [
        r.node
        for r in ou.weight_refs(model, ("Gather",))
        if r.node not in exclude and len(inits[r.name].dims) == 2 and inits[r.name].dims[0] >= INT4_TABLE_MIN_ROWS
    ]


def _tables_to_int4(path: Path, targets: list[str], block_size: int) -> tuple[onnx.ModelProto, int]:
    """Replace the target Gathers by 4-bit GatherBlockQuantized (asymmetric row blocks); every other Gather stays."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    from shrinkwise.compression import onnx_utils as ou

    model = ou.load(path)
    with ou.quiet():
        quant = MatMulNBitsQuantizer(
            model,
            bits=4,
            block_size=block_size,
            is_symmetric=False,
            nodes_to_exclude=other_gathers(model, targets),
            op_types_to_quantize=("Gather",),
        )
        quant.process()
    result = quant.model.model
    return result, ou.op_counts(result).get("GatherBlockQuantized", 0)


def _unsupported_recurrent(model: onnx.ModelProto) -> dict[str, int]:
    """Recurrent layers this ONNX Runtime cannot quantize dynamically (1.2x-1.3x: GRU and RNN), asked of ORT itself."""
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    from shrinkwise.compression import onnx_utils as ou

    counts = ou.op_counts(model)
    return {t: counts[t] for t in RECURRENT_OPS if counts.get(t) and t not in IntegerOpsRegistry}


def _fusion_feeds(ctx: TechniqueContext, model: onnx.ModelProto) -> list[dict[str, object]] | None:
    """A few real feeds to check the fused graph on (calibration, else validation data), or None to generate them."""
    from shrinkwise.compression import onnx_utils as ou

    for data in (ctx.calibration, ctx.validation):
        if data is not None and len(data):
            try:
                return ou.calibration_feeds(data, ou.graph_input_names(model), 32, ou.fixed_batch_size(model))[:2]  # type: ignore[return-value]
            except TechniqueError:
                continue
    return None


def _fuse(
    ctx: TechniqueContext, config: Config, src: Path, tmp: Path, model: onnx.ModelProto
) -> tuple[Path, FusionReport | None, str]:
    """Try attention fusion (see `_transformer_fusion`); returns the file to quantize, the report, and a log line."""
    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.graph_ops import looks_like_transformer
    from shrinkwise.compression.techniques._transformer_fusion import fuse_transformer

    if config.fuse_attention == "off":
        return src, None, ""
    if not looks_like_transformer(ou.op_counts(model)):
        return src, None, ""
    if config.op_types_to_quantize and "MatMul" not in config.op_types_to_quantize:
        return src, None, "attention fusion skipped: MatMul is not among op_types_to_quantize"
    out = tmp / "fused.onnx"
    report = fuse_transformer(
        src,
        out,
        feeds=_fusion_feeds(ctx, model),
        # The embeddings stay Gathers. ORT's QEmbedLayerNormalization stores the tables with one scale per tensor,
        # where Gather gets per-channel int8 (MiniLM-L6 per_channel: min cosine 0.978 fused vs 0.9835 as Gathers,
        # which fused attention alone keeps), and 4-bit tables and nodes_to_exclude need the Gather itself.
        embed_layer_norm=False,
        keep_names=config.nodes_to_exclude,
    )
    if not report.fused:
        return src, report, f"{report.describe()}; quantizing the unfused graph"
    return out, report, report.describe()


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from shrinkwise.compression import onnx_utils as ou

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
        src, fusion, fusion_log = _fuse(ctx, config, src, Path(tmp), model)
        fused = fusion is not None and fusion.fused
        if fusion_log:
            yield LogLine(text=fusion_log)
        if fused:
            model = ou.load(src)
        op_types = list(config.op_types_to_quantize)
        if fused and op_types and "Attention" not in op_types:
            op_types.append("Attention")  # it holds the Q/K/V MatMul weights the listed MatMul meant
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
        # Gather is quantized when listed, or by ORT's own default (an empty list with all_supported).
        gathers_quantized = "Gather" in op_types or not op_types
        int4_targets: list[str] = []
        if config.embedding_bits == 4 and gathers_quantized:
            int4_targets = large_tables(model, config.nodes_to_exclude)
            if int4_targets:
                try:
                    if (default_opset(model) or INT4_OPSET) < INT4_OPSET:
                        src = Path(tmp) / "opset21.onnx"
                        ou.save(with_int4_opset(model), src)
                except Exception as exc:  # noqa: BLE001 - one line for the user
                    raise TechniqueError(
                        f"could not convert the model to opset {INT4_OPSET} for 4-bit embedding tables "
                        f"({type(exc).__name__}: {runtime_error_text(exc)})",
                        path=ctx.onnx_path,
                        fix="use embedding_bits=8 (int8 tables need no opset change)",
                    ) from exc
                yield LogLine(text=f"{len(int4_targets)} embedding table(s) will be stored in 4 bits")
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
                    # the 4-bit tables skip int8 (they are quantized from float below)
                    nodes_to_exclude=[*config.nodes_to_exclude, *int4_targets] or None,
                    use_external_data_format=ou.file_bytes(src) > ou.EXTERNAL_DATA_ABOVE,
                    # ONNX shape inference cannot type the outputs of ORT's contrib ops (Attention, ...)
                    extra_options={"DefaultTensorType": TensorProto.FLOAT} if fused else None,
                )
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise TechniqueError(f"ONNX Runtime dynamic quantization failed: {type(exc).__name__}: {exc}") from exc
    int4_tables = 0
    if int4_targets:
        yield Progress(fraction=0.7, message=f"storing {len(int4_targets)} embedding table(s) in 4 bits")
        try:
            quantized, int4_tables = _tables_to_int4(out, int4_targets, config.embedding_block_size)
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise TechniqueError(
                f"ONNX Runtime 4-bit embedding quantization failed ({type(exc).__name__}: {runtime_error_text(exc)})",
                path=ctx.onnx_path,
                fix="use embedding_bits=8, or keep the named Gather in nodes_to_exclude",
            ) from exc
        ou.save(quantized, out)
    yield Progress(fraction=0.9, message="checking the result")
    model = ou.load(out)
    summary = ou.quant_summary(model)
    counts = ou.op_counts(model)
    gathers = _quantized_gathers(model)
    n_int = sum(counts.get(t, 0) for t in INTEGER_OPS) + gathers + int4_tables
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
    if counts.get("QEmbedLayerNormalization"):
        notes.append(
            "The embedding tables are stored in int8 inside ONNX Runtime's fused QEmbedLayerNormalization "
            "(lookup, sum and LayerNorm in one contrib kernel)."
        )
    if gathers:
        notes.append(
            f"{gathers} embedding table(s) (Gather) are stored in int8 and dequantized row by row at run time."
        )
    if int4_tables:
        notes.append(
            f"{int4_tables} large embedding table(s) are stored in 4 bits (blocks of {config.embedding_block_size} "
            "values with a float32 scale and a 4-bit zero point), read by ONNX Runtime's GatherBlockQuantized "
            f"contrib kernel; the model's opset is now {INT4_OPSET}, so it needs an ONNX Runtime that has that "
            "kernel (1.20 or later). The looked-up rows, and all activations, are float32."
        )
    elif config.embedding_bits == 4:
        notes.append(
            "embedding_bits=4 changed nothing: no Gather table with at least "
            f"{INT4_TABLE_MIN_ROWS} rows is quantized here"
            + ("" if gathers_quantized else " (Gather is not among op_types_to_quantize)")
            + ", so every table is int8 or float32 as above."
        )
    if counts.get("DynamicQuantizeLSTM"):
        notes.append(f"{counts['DynamicQuantizeLSTM']} LSTM layer(s) became DynamicQuantizeLSTM (int8 weights).")
    for op, n in _unsupported_recurrent(model).items():
        notes.append(
            f"{n} {op} layer(s) stay float32: this ONNX Runtime has no dynamic int8 kernel for {op} (it has one for "
            "LSTM only), so they are not smaller."
        )
    if fusion is not None and fusion.fused:
        notes.append(
            "Attention was fused first, as ONNX Runtime's BERT recipe does: "
            + ", ".join(f"{n} {op}" for op, n in fusion.ops.items())
            + f" (ONNX Runtime contrib ops; the fused float32 graph matched the original, min cosine "
            f"{fusion.min_cosine:.5f}). {counts.get('QAttention', 0)} attention block(s) run as QAttention, whose "
            "Q/K/V weights ONNX Runtime always stores in 7 bits."
        )
    elif fusion is not None and not fusion.nothing_to_fuse:
        notes.append(f"Attention was not fused ({fusion.reason}); the graph was quantized as exported.")
    if config.reduce_range:
        notes.append("Weights use 7 bits (reduce_range): slightly less accurate, needed only on CPUs without VNNI.")
    yield LogLine(text=f"quantized ops: {summary}")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Quantized {n_int - int4_tables} layer(s) to int8 weights with dynamic int8 activations"
        + (f", {int4_tables} embedding table(s) to 4 bits" if int4_tables else "")
        + f" ({size / max(original, 1):.2f}× the original size).",
        notes=notes,
        details={
            "original_bytes": original,
            "quantized_ops": summary,
            "conv_integer": summary.get("ConvInteger", 0),
            "quantized_gathers": gathers,
            "int4_gathers": int4_tables,
            "quantized_lstm": counts.get("DynamicQuantizeLSTM", 0),
            "fused_ops": dict(fusion.ops) if fusion is not None and fusion.fused else {},
            "quantized_attention": counts.get("QAttention", 0),
        },
    )
