"""Per-layer quantization error of an int8 QDQ model against its float original, with ONNX Runtime's QDQ debugging
tools (`onnxruntime.quantization.qdq_loss_debug`).

Three numbers per node, all SQNR in dB (higher = closer to float; ~40 dB is a clean int8 tensor, below ~20 dB a
layer loses real information):

* `weight_sqnr_db`: the node's float weight against its dequantized int8 weight (`create_weight_matching` +
  `compute_weight_error`). Only the weight input (Conv/Gemm/MatMul input 1), not the bias.
* `activation_sqnr_db`: the float model's activation against the QDQ model's dequantized activation at the node's
  output (ORT's `xmodel_err`): the error accumulated from the input up to this node.
* `qdq_sqnr_db`: the QDQ model's activation before against after its own Quantize/Dequantize pair (ORT's
  `qdq_err`): what quantizing this one tensor costs, given what came in.

Activations and weights are mapped back to nodes through the QDQ graph (which keeps the float graph's node names):
an activation belongs to the node that produces it (ORT folds a Relu into the range of the Conv before it, so the
Conv gets the Relu's output), a weight to the node that reads it. Graph inputs are reported apart.

Why per batch: ORT's `collect_activations` keeps every float tensor of every run in memory; the SQNR over all
samples is computed from sums of squares accumulated batch by batch, which equals ORT's formula on the
concatenation. Everything is written into a temporary folder (and ORT runs under `ou.quiet()`, whose scratch cwd
catches its stray files). Failures of the debugging tools never raise: the result is empty with a `reason`.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

if TYPE_CHECKING:  # pragma: no cover
    from shrinkwise.compression.data import Dataset

MAX_SAMPLES = 32
BATCH = 8


class LayerError(BaseModel):
    node: str
    op_type: str
    weight_sqnr_db: float | None = None
    activation_sqnr_db: float | None = Field(
        default=None, description="float vs QDQ model at the node's output (xmodel_err)"
    )
    qdq_sqnr_db: float | None = Field(default=None, description="before vs after the output's own Q/DQ pair (qdq_err)")


class LayerErrorReport(BaseModel):
    layers: list[LayerError] = Field(default_factory=list)
    inputs: list[LayerError] = Field(default_factory=list, description="graph inputs' own Q/DQ error (op_type 'input')")
    samples: int = 0
    reason: str | None = Field(default=None, description="why the result is empty or partial; None when it is complete")

    def by_node(self) -> dict[str, LayerError]:
        return {layer.node: layer for layer in self.layers}


def _sqnr(signal_sq: float, noise_sq: float) -> float | None:
    """ORT's `compute_signal_to_quantization_noice_ratio` from accumulated sums of squares (same epsilon); None
    where a tensor held NaN or inf (JSON has no place for them)."""
    if not (math.isfinite(signal_sq) and math.isfinite(noise_sq)):
        return None
    eps = float(np.finfo("float").eps)
    return 20 * math.log10(max(math.sqrt(signal_sq), eps) / max(math.sqrt(noise_sq), eps))


def _sq_norms(x: Sequence[np.ndarray] | np.ndarray, y: Sequence[np.ndarray] | np.ndarray) -> tuple[float, float]:
    """An `err_func` for `compute_activation_error`: (sum x², sum (x - y)²), to combine over batches."""
    xs = [x] if isinstance(x, np.ndarray) else list(x)
    ys = [y] if isinstance(y, np.ndarray) else list(y)
    left = np.concatenate([a.ravel() for a in xs]).astype(np.float64)
    right = np.concatenate([a.ravel() for a in ys]).astype(np.float64)
    return float(np.dot(left, left)), float(np.dot(left - right, left - right))


def _batches(
    data: Dataset, names: list[str], max_samples: int, fixed: int | None
) -> list[tuple[int, dict[str, np.ndarray]]]:
    """(samples, feed) batches of the first `max_samples` samples, sliced where the data spec puts them."""
    n = min(max_samples, len(data))
    step = fixed or BATCH
    out = []
    for start in range(0, n, step):
        stop = min(start + step, n)
        if fixed is not None and stop - start != fixed:
            break
        feed = data.batch(start, stop)
        out.append((stop - start, {k: feed[k] for k in names}))
    return out


def _clip_bounds(node: object, inits: dict[str, object]) -> tuple[float | None, float | None]:
    """A Clip's (min, max): constant inputs 1 and 2 (opset 11+) or attributes (older opsets); None where absent."""
    from onnx import numpy_helper

    bounds: list[float | None] = []
    for i, attr in ((1, "min"), (2, "max")):
        name = node.input[i] if len(node.input) > i else ""  # type: ignore[attr-defined]
        if name:
            t = inits.get(name)
            bounds.append(float(numpy_helper.to_array(t).reshape(-1)[0]) if t is not None else None)  # type: ignore[arg-type]
        else:
            bounds.append(next((a.f for a in node.attribute if a.name == attr), None))  # type: ignore[attr-defined]
    return bounds[0], bounds[1]


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def layer_error(
    float_onnx: Path | str,
    qdq_onnx: Path | str,
    inputs: Dataset | dict[str, np.ndarray],
    max_samples: int = MAX_SAMPLES,
    threads: int = 1,
    preprocess: bool = True,
) -> LayerErrorReport:
    """Per-node weight and activation SQNR of `qdq_onnx` against `float_onnx` on the first `max_samples` inputs.

    `preprocess` must match how the QDQ model was made (int8_static's default: ORT's quant_pre_process first), so
    that the float tensors compared are those the quantizer saw. Never raises for a model the tools cannot handle.
    A `Dataset` is sliced where its data spec puts the samples; a plain dict has them on axis 0.
    """
    from shrinkwise.compression.data import Dataset

    data = inputs if isinstance(inputs, Dataset) else Dataset(inputs=dict(inputs))
    try:
        with tempfile.TemporaryDirectory(prefix="shrinkwise-layer-error-") as tmp:
            return _layer_error(
                Path(float_onnx).resolve(),
                Path(qdq_onnx).resolve(),
                data,
                max_samples,
                threads,
                preprocess,
                Path(tmp),
            )
    except Exception as exc:  # noqa: BLE001 - a debugging aid must never break the analysis it decorates
        return LayerErrorReport(reason=f"ONNX Runtime's QDQ debugging failed: {_one_line(exc)}")


def _layer_error(
    float_onnx: Path,
    qdq_onnx: Path,
    data: Dataset,
    max_samples: int,
    threads: int,
    preprocess: bool,
    tmp: Path,
) -> LayerErrorReport:
    import onnxruntime as ort
    from onnxruntime.quantization import qdq_loss_debug as qd

    from shrinkwise.compression import onnx_utils as ou

    qdq_model = ou.load(qdq_onnx)
    ops = {n.op_type for n in qdq_model.graph.node}
    if "QuantizeLinear" not in ops or "DequantizeLinear" not in ops:
        return LayerErrorReport(
            reason="the quantized model has no QuantizeLinear/DequantizeLinear pairs on activations "
            "(QOperator format or dynamic quantization); ORT's QDQ debugging needs the QDQ format"
        )
    with ou.quiet():
        float_src, _ = ou.prepared_copy(float_onnx, tmp, preprocess)
    float_model = ou.load(float_src)
    names = ou.graph_input_names(float_model)
    missing = [k for k in names if k not in data.inputs]
    if missing:
        return LayerErrorReport(reason=f"no input data for model input(s) {missing}")
    counted = _batches(data, names, max(1, max_samples), ou.fixed_batch_size(float_model))
    if not counted:
        return LayerErrorReport(reason="too few samples for the model's fixed batch size")
    samples = sum(c for c, _ in counted)
    batches = [b for _, b in counted]

    # Look-ups in the QDQ graph: who produces a tensor, who reads it (and at which input position).
    producer = {o: n for n in qdq_model.graph.node for o in n.output}
    readers: dict[str, list[tuple[object, int]]] = {}
    for n in qdq_model.graph.node:
        for i, name in enumerate(n.input):
            readers.setdefault(name, []).append((n, i))
    qdq_inputs = set(ou.graph_input_names(qdq_model))

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3

    # ORT drops a Relu/Clip after a layer into the range of the layer's output Q/DQ pair: the QDQ model's pre-Q/DQ
    # tensor is then the layer's raw output, and ORT's qdq_err would count the activation's clipping as error.
    # Apply the folded activation to the pre-Q/DQ side first, so qdq_err is the rounding error alone.
    folded: dict[str, tuple[float | None, float | None]] = {}
    float_inits = ou.initializers(float_model)
    for n in float_model.graph.node:
        if n.op_type not in ("Relu", "Clip") or not n.output:
            continue
        out_name = n.output[0]
        p = producer.get(out_name + "_QuantizeLinear_Input") or producer.get(out_name)
        if p is None or p.op_type in (n.op_type, "QuantizeLinear", "DequantizeLinear"):
            continue  # kept in the QDQ graph: nothing folded
        folded[out_name] = (0.0, None) if n.op_type == "Relu" else _clip_bounds(n, float_inits)

    float_aug, qdq_aug = tmp / "float_augmented.onnx", tmp / "qdq_augmented.onnx"
    sums: dict[str, dict[str, list[float]]] = {}  # activation -> {"qdq_err"|"xmodel_err": [signal², noise²]}
    with ou.quiet():
        qd.modify_model_output_intermediate_tensors(str(float_src), str(float_aug))
        qd.modify_model_output_intermediate_tensors(str(qdq_onnx), str(qdq_aug))
        weights = qd.compute_weight_error(qd.create_weight_matching(str(float_src), str(qdq_onnx)))
        for batch in batches:
            float_acts = qd.collect_activations(
                str(float_aug), ou.make_calibration_reader([batch]), session_options=opts
            )
            qdq_acts = qd.collect_activations(str(qdq_aug), ou.make_calibration_reader([batch]), session_options=opts)
            matching = qd.create_activation_matching(qdq_acts, float_acts)
            matching = {k: v for k, v in matching.items() if "float" in v}  # ORT's error function needs the float side
            for name, match in matching.items():
                fold = folded.get(name)
                if fold is not None:
                    match["pre_qdq"] = [np.clip(t, *fold) for t in match["pre_qdq"]]
            errors = qd.compute_activation_error(matching, err_func=_sq_norms)  # type: ignore[arg-type]
            for name, errs in errors.items():
                slot = sums.setdefault(name, {})
                for key, (signal, noise) in errs.items():  # type: ignore[misc]
                    acc = slot.setdefault(key, [0.0, 0.0])
                    acc[0] += signal
                    acc[1] += noise

    layers: dict[str, LayerError] = {}
    graph_inputs: list[LayerError] = []

    def entry(node: object) -> LayerError:
        name = node.name  # type: ignore[attr-defined]
        if name not in layers:
            layers[name] = LayerError(node=name, op_type=node.op_type)  # type: ignore[attr-defined]
        return layers[name]

    for act in sorted(sums):
        errs = sums[act]
        act_db = _sqnr(*errs["xmodel_err"]) if "xmodel_err" in errs else None
        qdq_db = _sqnr(*errs["qdq_err"]) if "qdq_err" in errs else None
        if act in qdq_inputs:
            graph_inputs.append(LayerError(node=act, op_type="input", activation_sqnr_db=act_db, qdq_sqnr_db=qdq_db))
            continue
        # The pre-Q/DQ tensor is `act` itself, or `act_QuantizeLinear_Input` when the Q/DQ pair took over the name
        # (a graph output); its producer is the layer.
        node = None
        for cand in (act + "_QuantizeLinear_Input", act):
            p = producer.get(cand)
            if p is not None and p.op_type not in ("QuantizeLinear", "DequantizeLinear"):
                node = p
                break
        if node is None:
            continue
        e = entry(node)
        e.activation_sqnr_db, e.qdq_sqnr_db = act_db, qdq_db

    for weight, db in sorted(weights.items()):
        dq = next(
            (
                n
                for n in qdq_model.graph.node
                if n.op_type == "DequantizeLinear" and n.input and n.input[0] == weight + "_quantized"
            ),
            None,
        )
        if dq is None:
            continue
        for reader, pos in readers.get(dq.output[0], []):
            if ou.WEIGHT_INPUT.get(reader.op_type) == pos:  # type: ignore[attr-defined]
                entry(reader).weight_sqnr_db = float(db) if math.isfinite(db) else None

    order = {n.name: i for i, n in enumerate(qdq_model.graph.node)}
    out = sorted(layers.values(), key=lambda e: order.get(e.node, len(order)))
    reason = None if out else "ONNX Runtime's QDQ debugging matched no activation or weight between the two models"
    return LayerErrorReport(layers=out, inputs=graph_inputs, samples=samples, reason=reason)
