"""Int8 weights and activations with ranges measured on calibration data (ONNX Runtime `quantize_static`).

QDQ format by default. The op preset matters on transformer-like graphs: ONNX Runtime's default puts QDQ on the
inputs of LayerNorm, Softmax and residual Adds, which ruined quality on MiniLM (mean cosine 0.81) while restricting
QDQ to MatMul/Gemm/Conv inputs kept 0.997 (peer baselines). `op_preset="auto"` picks that restriction when the graph
has normalisation/softmax/GELU ops.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError, runtime_error_text
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.graph_ops import looks_like_transformer
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # pragma: no cover
    import onnx

WEIGHT_OPS = ("MatMul", "Gemm", "Conv", "ConvTranspose")


class Config(TechniqueConfig):
    technique: Literal["int8_static"] = "int8_static"
    quant_format: Literal["QDQ", "QOperator"] = Field(
        default="QDQ",
        description="QDQ: Quantize/Dequantize pairs around float ops (portable); QOperator: fused int8 ops",
    )
    activation_type: Literal["int8", "uint8"] = Field(
        default="int8", description="Integer type of quantized activations"
    )
    weight_type: Literal["int8", "uint8"] = Field(default="int8", description="Integer type of quantized weights")
    calibrate_method: Literal["MinMax", "Entropy", "Percentile"] = Field(
        default="MinMax", description="How activation ranges are chosen from the calibration data"
    )
    percentile: float = Field(
        default=99.999,
        ge=90.0,
        le=100.0,
        description="Percentile of |activation| kept in range (Percentile method only)",
    )
    calibration_samples: int = Field(
        default=128,
        ge=1,
        le=100_000,
        description="How many calibration samples to run (fewer = faster, noisier ranges)",
    )
    per_channel: bool = Field(default=False, description="One weight scale per output channel instead of per tensor")
    reduce_range: bool = Field(
        default=False, description="7-bit weights; avoids overflow on x86 CPUs without VNNI at a small accuracy cost"
    )
    op_preset: Literal["auto", "all_supported", "weight_ops_only"] = Field(
        default="auto",
        description="Which ops get quantized inputs: all_supported = ONNX Runtime's default; weight_ops_only = only "
        "MatMul/Gemm/Conv (keeps LayerNorm, Softmax and Add in float); auto = weight_ops_only for transformer-like "
        "graphs, all_supported otherwise",
    )
    op_types_to_quantize: tuple[str, ...] = Field(
        default=(), max_length=64, description="Explicit op types to quantize; overrides op_preset when not empty"
    )
    nodes_to_exclude: tuple[str, ...] = Field(
        default=(), max_length=10_000, description="Names of nodes kept in float (their inputs are not quantized)"
    )
    preprocess: bool = Field(
        default=True,
        description="Run ONNX Runtime's quant_pre_process (shape inference, graph clean-up) first when it works",
    )


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from shrinkwise.compression import onnx_utils as ou

    if ctx.calibration is None or len(ctx.calibration) == 0:
        raise TechniqueError(
            "int8_static needs calibration data: a few hundred representative inputs (no labels needed) to measure "
            "activation ranges",
            fix="add a calibration set to the project (e.g. 100-500 samples from the training data), or use int8_dynamic, "
            "which needs none",
        )
    yield Progress(fraction=0.0, message="preparing the graph")
    original_model = ou.load(ctx.onnx_path)
    if config.op_types_to_quantize:
        op_types: list[str] | None = list(config.op_types_to_quantize)
        preset = "explicit"
    else:
        preset = config.op_preset
        if preset == "auto":
            preset = "weight_ops_only" if looks_like_transformer(ou.op_counts(original_model)) else "all_supported"
        op_types = list(WEIGHT_OPS) if preset == "weight_ops_only" else None
    yield LogLine(text=f"op preset: {preset}" + (f" ({', '.join(op_types)})" if op_types else ""))

    qtype = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
    method = {
        "MinMax": CalibrationMethod.MinMax,
        "Entropy": CalibrationMethod.Entropy,
        "Percentile": CalibrationMethod.Percentile,
    }[config.calibrate_method]
    extra: dict[str, object] = {"CalibPercentile": config.percentile} if config.calibrate_method == "Percentile" else {}
    exclude = list(config.nodes_to_exclude)
    if preset == "weight_ops_only":
        # Quantize only what those ops read: no Q/DQ on their outputs, and a private Q/DQ pair per quantized
        # consumer so that a residual Add or a LayerNorm reading the same tensor keeps the float value.
        extra["OpTypesToExcludeOutputQuantization"] = list(WEIGHT_OPS)
        extra["DedicatedQDQPair"] = True
    if exclude and config.quant_format == "QDQ":
        # Keep Relu/Clip nodes: ORT otherwise drops them into the previous layer's range, and a float-kept node
        # reading that tensor would then see pre-activation values once its Q/DQ is bypassed.
        extra["QDQKeepRemovableActivations"] = True

    with tempfile.TemporaryDirectory(prefix=".work-", dir=ctx.out_dir) as tmp:
        src, logs = ou.prepared_copy(ctx.onnx_path, Path(tmp), config.preprocess, exclude)
        for text in logs:
            yield LogLine(text=text)
        src_model = ou.load(src)
        feeds = ou.calibration_feeds(
            ctx.calibration, ou.graph_input_names(src_model), config.calibration_samples, ou.fixed_batch_size(src_model)
        )
        if not feeds:
            raise TechniqueError(
                "the calibration data is too small for the model's fixed batch size",
                fix=f"give at least {ou.fixed_batch_size(src_model)} calibration samples",
            )
        n_samples = sum(len(next(iter(f.values()))) for f in feeds)
        yield Progress(fraction=0.2, message=f"calibrating on {n_samples} sample(s) ({config.calibrate_method})")
        tmp_out = Path(tmp) / "quantized.onnx"
        try:
            with ou.quiet():
                quantize_static(
                    str(src),
                    str(tmp_out),
                    ou.make_calibration_reader(feeds),
                    quant_format=QuantFormat.QDQ if config.quant_format == "QDQ" else QuantFormat.QOperator,
                    op_types_to_quantize=op_types,
                    per_channel=config.per_channel,
                    reduce_range=config.reduce_range,
                    activation_type=qtype[config.activation_type],
                    weight_type=qtype[config.weight_type],
                    nodes_to_exclude=exclude or None,
                    calibrate_method=method,
                    extra_options=extra or None,
                    use_external_data_format=ou.file_bytes(src) > ou.EXTERNAL_DATA_ABOVE,
                )
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise TechniqueError(
                f"ONNX Runtime static quantization failed ({type(exc).__name__}: {runtime_error_text(exc)})",
                path=ctx.onnx_path,
                fix="check that the model runs in ONNX Runtime, or keep the named node in float",
            ) from exc
        yield Progress(fraction=0.85, message="checking the result")
        model = ou.load(tmp_out)
    if exclude:
        rewired, left = ou.unquantize_node_inputs(model, src_model, set(exclude))
        if rewired:
            yield LogLine(
                text=f"fed {rewired} input(s) of float-kept node(s) their float tensors again (no Q/DQ in front)"
            )
        if left:
            yield LogLine(
                level="warning",
                text=f"{len(left)} input(s) of float-kept nodes still read quantized values: {', '.join(left[:5])}",
            )
    recurrent = _recurrent_ops(model)
    if ou.quantized_weight_count(model) == 0:
        if recurrent:
            raise TechniqueError(
                f"static int8 quantization changed nothing: the model's weights are in recurrent ops ({recurrent}), "
                "which ONNX Runtime's static int8 leaves in float",
                path=ctx.onnx_path,
                fix="use int8_dynamic or fp16 for recurrent models",
            )
        raise TechniqueError(
            "static int8 quantization changed nothing: no layer with constant weights was quantized",
            path=ctx.onnx_path,
            fix="check op_types_to_quantize and nodes_to_exclude",
        )
    out = ctx.out_dir / "model_int8_static.onnx"
    size = ou.save(model, out)
    original = ou.file_bytes(ctx.onnx_path)
    summary = ou.quant_summary(model)
    notes = [
        f"Activation ranges come from {n_samples} calibration sample(s); inputs unlike them may lose accuracy.",
        "Speed-ups depend on the CPU's int8 support (VNNI / dot-product); measure, never assume int8 is faster.",
    ]
    if preset == "all_supported" and looks_like_transformer(ou.op_counts(original_model)):
        notes.append(
            "QDQ was placed on every supported op of a transformer-like graph (LayerNorm/Softmax/Add inputs included); "
            "this is known to hurt quality badly. op_preset='weight_ops_only' keeps those in float."
        )
    if config.quant_format == "QOperator" and config.activation_type == "int8":
        notes.append("QOperator with int8 activations ran slowly on this project's CPUs; uint8 activations were fine.")
    if recurrent:
        notes.append(
            f"Recurrent ops stayed float32 ({recurrent}): ONNX Runtime's static int8 has no quantized kernel for "
            "them, so their weights keep full size and speed."
        )
    if exclude:
        notes.append(
            f"{len(exclude)} node(s) kept in float: {', '.join(exclude[:10])}{' …' if len(exclude) > 10 else ''}."
        )
    yield LogLine(text=f"quantized ops: {summary}")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Static int8 ({config.quant_format}, {config.calibrate_method} calibration on {n_samples} samples, "
        f"preset {preset}): {size / max(original, 1):.2f}× the original size.",
        notes=notes,
        details={
            "original_bytes": original,
            "op_preset": preset,
            "op_types_to_quantize": op_types,
            "calibration_samples": n_samples,
            "quantized_ops": summary,
            "kept_float": exclude,
            "recurrent_kept_float": recurrent,
        },
    )


RECURRENT_OPS = ("LSTM", "GRU", "RNN")


def _recurrent_ops(model: onnx.ModelProto) -> str:
    """'LSTM ×2, GRU ×1' for the recurrent ops anywhere in the graph (If/Loop bodies included); '' when none."""
    from collections import Counter

    counts: Counter[str] = Counter()
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            if node.op_type in RECURRENT_OPS:
                counts[node.op_type] += 1
            graphs.extend(a.g for a in node.attribute if a.HasField("g"))
            graphs.extend(g for a in node.attribute for g in a.graphs)
    return ", ".join(f"{op} ×{n}" for op, n in sorted(counts.items()))
