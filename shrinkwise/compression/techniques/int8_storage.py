"""Int8 weights in the file, float32 arithmetic at run time: a smaller download that is exactly as fast.

Each large weight is stored as int8 with one scale per output channel, followed by `Cast` and `Mul` nodes that turn
it back into float32. Every input of those two nodes is a constant, so ONNX Runtime folds them once when the session
starts: the graph that runs is the original float32 graph with weights rounded to 8 bits. Why this exists: on a CPU
where int8 kernels do not pay off (a 14 µs CNN ran 1.2x *slower* with static int8 here, its quantize/dequantize
steps costing more than the int8 math saves), a file-size budget can still be met without giving up any speed.
What it does not save is memory at run time: after loading, the float weights exist as before (the study's lesson
that storage savings are not runtime savings, L-TRADE-02). The artifact checks that the runtime really folds the
expansion and says so; a runtime that does not fold it computes the two nodes on every call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError, runtime_error_text
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # onnx is imported lazily: importing a technique must stay cheap
    import onnx

    from shrinkwise.compression.onnx_utils import WeightRef

WeightOp = Literal["Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"]
SUFFIX_INT8 = "__int8"
SUFFIX_SCALE = "__scale"
SUFFIX_FLOAT = "__float"


class Config(TechniqueConfig):
    technique: Literal["int8_storage"] = "int8_storage"
    op_types: tuple[WeightOp, ...] = Field(
        default=("Conv", "ConvTranspose", "Gemm", "MatMul", "Gather"),
        min_length=1,
        max_length=5,
        description="Layer types whose weights are stored in int8",
    )
    min_elements: int = Field(
        default=256,
        ge=1,
        le=1 << 30,
        description="Weights with fewer values stay float32 (a scale per channel and two nodes cost more than they "
        "save on a tiny tensor)",
    )
    nodes_to_exclude: tuple[str, ...] = Field(
        default=(), max_length=10_000, description="Names of nodes whose weights stay float32"
    )


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from shrinkwise.compression import onnx_utils as ou

    yield Progress(fraction=0.0, message="reading the model")
    model = ou.load_named(ctx.onnx_path, config.nodes_to_exclude, "nodes_to_exclude")
    refs = _eligible(model, config)
    if not refs:
        raise TechniqueError(
            f"no weight can be stored in int8: no float weight of {', '.join(config.op_types)} layers has at least "
            f"{config.min_elements} values outside nodes_to_exclude",
            path=ctx.onnx_path,
            fix="lower min_elements or add layer types to op_types",
        )
    yield Progress(fraction=0.2, message=f"storing {len(refs)} weight tensor(s) in int8")
    error_db = _store_int8(model, refs)
    out = ctx.out_dir / "model_int8_storage.onnx"
    size = ou.save(model, out)
    yield Progress(fraction=0.7, message="checking that ONNX Runtime folds the expansion at load")
    try:
        left = _unfolded(out, {r.name for r in refs})
    except Exception as exc:  # noqa: BLE001 - one line for the user
        raise TechniqueError(
            f"the int8-storage model does not load in ONNX Runtime ({type(exc).__name__}: {runtime_error_text(exc)})",
            path=ctx.onnx_path,
            fix="exclude the layer named there with nodes_to_exclude",
        ) from exc
    original = ou.file_bytes(ctx.onnx_path)
    worst = min(error_db.values())
    notes = [
        "Weights are stored in int8 and expanded to float32 when the model loads, so run-time memory and speed are "
        "those of the float32 model; the gain is the file (download, app size, storage).",
        f"Weight rounding: the worst tensor keeps {worst:.1f} dB signal-to-quantization-noise (per-channel int8).",
    ]
    if left:
        notes.append(
            f"ONNX Runtime did not fold the expansion of {len(left)} weight(s) at load ({', '.join(left[:5])}"
            f"{' …' if len(left) > 5 else ''}): those Cast/Mul nodes run on every call and cost time."
        )
        yield LogLine(level="warning", text=notes[-1])
    yield LogLine(text=f"int8-storage model written: {size:,} bytes (from {original:,}), {len(refs)} weight(s) in int8")
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Stored {len(refs)} weight tensor(s) in int8, expanded to float32 at load "
        f"({size / max(original, 1):.2f}× the original file size).",
        notes=notes,
        details={
            "original_bytes": original,
            "int8_tensors": len(refs),
            "folded_at_load": not left,
            "unfolded_tensors": left,
            "worst_weight_sqnr_db": round(worst, 2),
            "op_counts": ou.op_counts(model),
        },
    )


def _eligible(model: onnx.ModelProto, config: Config) -> list[WeightRef]:
    """Float weights big enough to be worth it; a weight that is also a graph input stays (a caller may feed it)."""
    import math

    from shrinkwise.compression import onnx_utils as ou

    inits = ou.initializers(model)
    graph_inputs = set(ou.graph_input_names(model))
    skip = set(config.nodes_to_exclude)
    excluded_weights = {
        n.input[ou.WEIGHT_INPUT[n.op_type]]
        for n in model.graph.node
        if n.name in skip and n.op_type in ou.WEIGHT_INPUT and len(n.input) > ou.WEIGHT_INPUT[n.op_type]
    }
    return [
        r
        for r in ou.weight_refs(model, tuple(config.op_types))
        if r.name not in graph_inputs
        and r.name not in excluded_weights
        and math.prod(inits[r.name].dims) >= config.min_elements
    ]


def _store_int8(model: onnx.ModelProto, refs: list[WeightRef]) -> dict[str, float]:
    """Replace each weight by int8 values, a per-channel scale and the Cast + Mul that restore it (same name, so
    every consumer, shared kernels included, reads the restored tensor). Returns each weight's SQNR in dB."""
    import numpy as np
    from onnx import helper, numpy_helper

    from shrinkwise.compression import onnx_utils as ou

    inits = ou.initializers(model)
    sqnr: dict[str, float] = {}
    expand: list[onnx.NodeProto] = []
    for ref in refs:
        init = inits[ref.name]
        w = numpy_helper.to_array(init).astype(np.float32)
        axis = ref.out_axis % w.ndim
        moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        scale = np.abs(moved).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        q = np.clip(np.round(moved / scale[:, None]), -127, 127)
        restored = q * scale[:, None]
        noise = float(np.sum((moved - restored) ** 2))
        sqnr[ref.name] = 10 * np.log10(float(np.sum(moved**2)) / noise) if noise > 0 else 200.0
        q8 = np.moveaxis(q.astype(np.int8).reshape(np.moveaxis(w, axis, 0).shape), 0, axis)
        shape = [1] * w.ndim
        shape[axis] = w.shape[axis]
        # fp16/double weights: the scale has the weight's type, so Mul restores that type
        scale_dtype = helper.tensor_dtype_to_np_dtype(init.data_type)
        model.graph.initializer.remove(init)
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(np.ascontiguousarray(q8), ref.name + SUFFIX_INT8),
                numpy_helper.from_array(scale.astype(scale_dtype).reshape(shape), ref.name + SUFFIX_SCALE),
            ]
        )
        cast = helper.make_node(
            "Cast", [ref.name + SUFFIX_INT8], [ref.name + SUFFIX_FLOAT], to=init.data_type, name=ref.name + "/int8_cast"
        )
        mul = helper.make_node(
            "Mul", [ref.name + SUFFIX_FLOAT, ref.name + SUFFIX_SCALE], [ref.name], name=ref.name + "/int8_scale"
        )
        expand += [cast, mul]
    # The expansion goes first: a node may only read tensors produced before it (topological order).
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend([*expand, *nodes])
    return sqnr


def _unfolded(path: Path, weights: set[str]) -> list[str]:
    """Weights whose expansion ONNX Runtime leaves in the graph it runs (basic optimizations = constant folding)."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        # weights go to a side file, so a model over protobuf's 2 GB limit can be written too
        opts.add_session_config_entry("session.optimized_model_external_initializers_file_name", "weights.bin")
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        optimized = onnx.load(opts.optimized_model_filepath, load_external_data=False)
    produced = {o for n in optimized.graph.node for o in n.output}
    return sorted(w for w in weights if w in produced)
