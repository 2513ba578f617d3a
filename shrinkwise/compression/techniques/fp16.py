"""Float16 weights (and compute where the runtime has fp16 kernels), via onnxconverter-common.

Half the storage with almost never a visible quality change; on CPU it is rarely faster (ONNX Runtime inserts Cast
nodes and many CPU kernels are fp32 only).
"""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError, runtime_error_text
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # pragma: no cover
    import onnx

FP16_MAX = 65504.0
# Conversions retried after keeping one more op type in float32 (each names a different offending op).
MAX_RETRIES = 6
MAX_CLAMPED_NAMED = 20  # tensors named in the clamping note and details
QUANTIZATION_OPS = (
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "ConvInteger",
    "MatMulInteger",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
    "MatMulNBits",
    "GatherBlockQuantized",
)


class Config(TechniqueConfig):
    technique: Literal["fp16"] = "fp16"
    keep_io_types: bool = Field(
        default=True,
        description="Keep the model's inputs and outputs float32 (Cast nodes are added inside), so callers need no change",
    )
    keep_float_op_types: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        description="Op types that stay float32, added to the converter's own block list (e.g. 'Resize', 'TopK')",
    )
    keep_float_nodes: tuple[str, ...] = Field(
        default=(),
        max_length=10_000,
        description="Names of individual nodes that stay float32 (e.g. ones the sensitivity analysis flags)",
    )
    min_positive_value: float = Field(
        default=1e-7, gt=0.0, le=1e-3, description="Weights smaller than this in magnitude (but not 0) are raised to it"
    )
    # The converter's own default is 1e4, which silently turned a voice-activity model's 16000 (its sample rate)
    # into 10000 and flipped 11 % of its decisions: only what float16 cannot hold is clamped by default.
    max_finite_value: float = Field(
        default=FP16_MAX,
        ge=1.0,
        le=FP16_MAX,
        description="Weights and constants larger than this in magnitude are clamped to it (65504 is float16's "
        "largest finite value; lower only to leave headroom)",
    )


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    import numpy as np
    from onnx import numpy_helper
    from onnxconverter_common import float16

    from shrinkwise.compression import onnx_utils as ou

    yield Progress(fraction=0.0, message="reading the model")
    model = ou.load_named(ctx.onnx_path, config.keep_float_nodes, "keep_float_nodes")

    # Count the tiny weights the converter will raise, to say so honestly (clamped large values are counted on the
    # converted graph, where it is known which tensors really became float16).
    tiny = 0
    refs = {r.name for r in ou.weight_refs(model, ("Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"))}
    for init in model.graph.initializer:
        if init.data_type == 1 and init.name in refs:  # FLOAT
            a = np.abs(numpy_helper.to_array(init))
            tiny += int(np.sum((a > 0) & (a < config.min_positive_value)))
    yield Progress(fraction=0.3, message="converting weights to float16")

    # After int8/int4 the big weights are already small; converting the rest breaks the quantization ops (ONNX
    # Runtime refuses a float16 scale, and the converter cannot cut the graph cleanly around them).
    already_quantized = sorted(t for t in QUANTIZATION_OPS if t in ou.op_counts(model))
    if already_quantized:
        raise TechniqueError(
            f"the model is already quantized ({', '.join(already_quantized)}), so float16 has nothing useful left to do",
            path=ctx.onnx_path,
            fix="put fp16 before quantization in the recipe, or use it on its own",
        )
    op_block = list(dict.fromkeys([*float16.DEFAULT_OP_BLOCK_LIST, *config.keep_float_op_types]))
    auto_kept: list[str] = []
    for _attempt in range(MAX_RETRIES + 1):
        converted = _convert(model, config, op_block, ctx.onnx_path)
        problem = _load_problem(converted)
        if problem is None:
            break
        op_type = _offending_op_type(converted, problem)
        if op_type is None or op_type in op_block:
            raise TechniqueError(
                f"the float16 model does not load in ONNX Runtime ({problem})",
                path=ctx.onnx_path,
                fix="keep the op named there in float with keep_float_op_types or keep_float_nodes",
            )
        # The converter retypes a tensor to float16 that its node still produces (or needs) as float32, e.g.
        # Cast(to=float) after STFT or a tf2onnx ExpandDims: keep that op type in float32 and convert again.
        auto_kept.append(op_type)
        op_block.append(op_type)
        yield LogLine(level="warning", text=f"float16 graph did not load ({problem}); keeping {op_type} in float32")
    else:
        raise TechniqueError(
            f"the float16 model still does not load after keeping {', '.join(auto_kept)} in float32",
            path=ctx.onnx_path,
            fix="name the failing ops in keep_float_op_types, or leave fp16 out for this model",
        )
    yield Progress(fraction=0.8, message="saving")
    out = ctx.out_dir / "model_fp16.onnx"
    size = ou.save(converted, out)
    original = ou.file_bytes(ctx.onnx_path)
    counts = ou.op_counts(converted)
    clamp = clamped_values(model, converted, config.max_finite_value)
    if clamp.count:
        yield LogLine(level="warning", text=clamp.note(config.max_finite_value))
    notes = [
        "On CPU, float16 is usually not faster than float32: ONNX Runtime adds Cast nodes and many CPU kernels "
        "compute in float32. The gain is storage (about half) and speed on GPUs/NPUs with fp16 units.",
    ]
    if clamp.count:
        notes.append(clamp.note(config.max_finite_value))
    if tiny:
        notes.append(f"{tiny} tiny non-zero weight(s) were raised to {config.min_positive_value:g} to avoid underflow.")
    if auto_kept:
        notes.append(
            f"Kept in float32 automatically because the float16 graph did not load in ONNX Runtime: op types "
            f"{', '.join(auto_kept)}."
        )
    kept = list(config.keep_float_op_types)
    if kept or config.keep_float_nodes:
        notes.append(
            f"Kept in float32: op types {kept or 'none'} and {len(config.keep_float_nodes)} named node(s); "
            "each boundary adds Cast nodes."
        )
    yield LogLine(
        text=f"float16 model written: {size:,} bytes (from {original:,}); {counts.get('Cast', 0)} Cast node(s)"
    )
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Converted weights to float16 ({size / max(original, 1):.2f}× the original file size).",
        notes=notes,
        details={
            "original_bytes": original,
            "cast_nodes": counts.get("Cast", 0),
            "clipped_values": clamp.count,
            "clipped_tensors": clamp.tensors[:MAX_CLAMPED_NAMED],
            "clipped_largest_magnitude": clamp.largest,
            "keep_io_types": config.keep_io_types,
            "auto_kept_float_op_types": auto_kept,
            "op_counts": counts,
        },
    )


@dataclass
class Clamped:
    """Values the converter clamped to ±max_finite_value: how many, in which tensors, and the largest before."""

    count: int = 0
    largest: float = 0.0
    tensors: list[str] = field(default_factory=list)

    def note(self, limit: float) -> str:
        shown = ", ".join(self.tensors[:MAX_CLAMPED_NAMED]) + (" …" if len(self.tensors) > MAX_CLAMPED_NAMED else "")
        return (
            f"{self.count} weight/constant value(s) beyond ±{limit:g} were clamped to ±{limit:g} to fit float16 "
            f"(largest magnitude {self.largest:g}, in {shown}); check the outputs that depend on them."
        )


def _float_tensors(graph: onnx.GraphProto, out: dict[str, onnx.TensorProto]) -> None:
    """Initializers (by name) and node attribute tensors such as a Constant's value (by 'node/attribute') of
    `graph` and its subgraphs: everything the converter turns into float16."""
    for init in graph.initializer:
        out.setdefault(init.name, init)
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                out.setdefault(f"{node.name or node.output[0]}/{attr.name}", attr.t)
            for k, t in enumerate(attr.tensors):
                out.setdefault(f"{node.name or node.output[0]}/{attr.name}[{k}]", t)
            if attr.HasField("g"):
                _float_tensors(attr.g, out)
            for g in attr.graphs:
                _float_tensors(g, out)


def clamped_values(original: onnx.ModelProto, converted: onnx.ModelProto, limit: float) -> Clamped:
    """Count the float32 values beyond ±limit in the tensors that the converted model holds as float16 (the same
    rule as the converter: strictly larger in magnitude, infinities kept)."""
    import numpy as np
    from onnx import TensorProto, numpy_helper

    before: dict[str, onnx.TensorProto] = {}
    after: dict[str, onnx.TensorProto] = {}
    _float_tensors(original.graph, before)
    _float_tensors(converted.graph, after)
    result = Clamped()
    for name, tensor in before.items():
        now = after.get(name)
        if tensor.data_type != TensorProto.FLOAT or now is None or now.data_type != TensorProto.FLOAT16:
            continue
        a = np.abs(numpy_helper.to_array(tensor).astype(np.float64))
        over = a[np.isfinite(a) & (a > limit)]
        if over.size:
            result.count += int(over.size)
            result.largest = max(result.largest, float(over.max()))
            result.tensors.append(name)
    return result


def _convert(model: onnx.ModelProto, config: Config, op_block: list[str], path: Path) -> onnx.ModelProto:
    from onnxconverter_common import float16

    from shrinkwise.compression import onnx_utils as ou

    with ou.quiet():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the converter warns for every clipped value
            try:
                converted = float16.convert_float_to_float16(
                    copy.deepcopy(model),  # the converter edits its input; a retry needs the original
                    min_positive_val=config.min_positive_value,
                    max_finite_val=config.max_finite_value,
                    keep_io_types=config.keep_io_types,
                    op_block_list=op_block,
                    node_block_list=list(config.keep_float_nodes) or None,
                )
            except Exception as exc:  # noqa: BLE001 - e.g. a model that is already float16: one line for the user
                raise TechniqueError(f"float16 conversion failed: {exc}", path=path) from exc
    if config.keep_io_types:
        _restore_float_outputs(model, converted)
    return converted


def _restore_float_outputs(original: onnx.ModelProto, converted: onnx.ModelProto) -> None:
    """Keep float32 graph outputs float32 when a node kept in float32 produces them.

    The converter casts a kept node's output to float16 even when it is a graph output, despite keep_io_types: the
    output's type changes under the caller, and a kept value beyond ±65504 reaches them as inf. Such a Cast is
    turned into a float32 one (an identity) when nothing else in the graph reads the output.
    """
    from onnx import TensorProto

    was_float = {o.name for o in original.graph.output if o.type.tensor_type.elem_type == TensorProto.FLOAT}
    readers = {name for node in converted.graph.node for name in node.input}
    by_output = {node.output[0]: node for node in converted.graph.node if node.op_type == "Cast" and node.output}
    for out in converted.graph.output:
        cast = by_output.get(out.name)
        if out.name not in was_float or out.type.tensor_type.elem_type != TensorProto.FLOAT16 or cast is None:
            continue
        if out.name in readers:
            continue
        for attr in cast.attribute:
            if attr.name == "to":
                attr.i = TensorProto.FLOAT
        out.type.tensor_type.elem_type = TensorProto.FLOAT


def _load_problem(model: onnx.ModelProto) -> str | None:
    """Why ONNX Runtime refuses the converted graph (one line), or None when it loads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - any refusal is a reason to retry or to stop
        return runtime_error_text(exc)
    return None


def _offending_op_type(model: onnx.ModelProto, problem: str) -> str | None:
    """The op type of the node ORT's message names ('... of node (Cast_3) ...' / '... in node (Add_1) ...')."""
    by_name = {n.name: n.op_type for n in model.graph.node if n.name}
    for name in re.findall(r"node \(([^()]*)\)", problem):
        if name in by_name:
            return by_name[name]
    op = re.search(r"of operator \((\w+)\)", problem)
    return op.group(1) if op else None
