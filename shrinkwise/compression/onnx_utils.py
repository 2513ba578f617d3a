"""ONNX helpers shared by the techniques and the engine (intake, graph ops, layer error): loading and saving, graph
look-ups, the Gemm -> MatMul + Add rewrite, the calibration data reader, quantization pre-processing, and MAC /
parameter counting. Not a technique itself, so it lives outside `techniques/`, which only the runner, the worker and
the catalog import.

Everything heavy (onnx, onnxruntime) is imported inside the functions so that importing a technique stays cheap.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shrinkwise.compression.errors import TechniqueError

if TYPE_CHECKING:  # pragma: no cover
    import onnx

    from shrinkwise.compression.technique_api import LabelledData

# Protobuf refuses to serialise one message above 2 GiB; bigger models go to a side file.
_PROTO_LIMIT = 2_000_000_000
# Quantizers are told to write weights to a side file above this size (their intermediate models grow).
EXTERNAL_DATA_ABOVE = 1_500_000_000

# Ops whose weight input a technique may change, and which input index holds the weight.
WEIGHT_INPUT = {"Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1, "Gather": 0}


def load(path: Path | str) -> onnx.ModelProto:
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - a damaged file is a user problem, said in one line
        raise TechniqueError(f"cannot read the ONNX model ({type(exc).__name__}: {exc})", path=path) from exc


def save(model: onnx.ModelProto, path: Path | str) -> int:
    """Write `model` as one self-contained file (a side `.data` file only above protobuf's 2 GiB limit).

    Returns the bytes written, side file included.
    """
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.ByteSize() < _PROTO_LIMIT:
        onnx.save_model(model, str(path))
        return path.stat().st_size
    data_name = path.name + ".data"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data_name)
    return path.stat().st_size + (path.parent / data_name).stat().st_size


def file_bytes(path: Path | str) -> int:
    """Size of an ONNX file plus its side `.data` file when it has one."""
    path = Path(path)
    side = path.parent / (path.name + ".data")
    return path.stat().st_size + (side.stat().st_size if side.exists() else 0)


def graph_input_names(model: onnx.ModelProto) -> list[str]:
    """Real model inputs, in graph order (initializers listed as inputs by old exporters are left out)."""
    inits = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def graph_output_names(model: onnx.ModelProto) -> list[str]:
    return [o.name for o in model.graph.output]


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    return dict(Counter(n.op_type for n in model.graph.node))


def initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {i.name: i for i in model.graph.initializer}


def fixed_batch_size(model: onnx.ModelProto) -> int | None:
    """The batch size the first input is pinned to, or None when the batch axis is dynamic."""
    inits = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = inp.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value") and dims[0].dim_value >= 1:
            return int(dims[0].dim_value)
        return None
    return None


@dataclass(frozen=True)
class WeightRef:
    """A float initializer used as the weight of a layer."""

    name: str  # initializer name
    node: str  # the consuming node's name
    op_type: str
    out_axis: int  # axis of output channels (rows of the result), for per-channel grouping
    in_axis: int | None  # axis summed over (K) for MatMul/Gemm, input channels for Conv; None for Gather


def weight_refs(
    model: onnx.ModelProto, op_types: tuple[str, ...] = ("Conv", "ConvTranspose", "Gemm", "MatMul")
) -> list[WeightRef]:
    """Float initializers that are the weight input of a node of one of `op_types`, each listed once."""
    from onnx import TensorProto

    inits = initializers(model)
    seen: set[str] = set()
    refs: list[WeightRef] = []
    for node in model.graph.node:
        if node.op_type not in op_types:
            continue
        idx = WEIGHT_INPUT.get(node.op_type)
        if idx is None or len(node.input) <= idx:
            continue
        name = node.input[idx]
        init = inits.get(name)
        if (
            init is None
            or name in seen
            or init.data_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)
        ):
            continue
        rank = len(init.dims)
        if rank < 2 and node.op_type != "Gather":
            continue
        if node.op_type in ("Conv",):
            out_axis, in_axis = 0, 1
        elif node.op_type == "ConvTranspose":
            out_axis, in_axis = 1, 0
        elif node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            out_axis, in_axis = (0, 1) if trans_b else (1, 0)
        elif node.op_type == "MatMul":
            out_axis, in_axis = rank - 1, rank - 2
        else:  # Gather: an embedding table, one row per token
            out_axis, in_axis = 0, None
        seen.add(name)
        refs.append(WeightRef(name=name, node=node.name, op_type=node.op_type, out_axis=out_axis, in_axis=in_axis))
    return refs


def ensure_node_names(model: onnx.ModelProto) -> None:
    """Give every unnamed node a unique name (exclusion lists and reports refer to nodes by name)."""
    used = {n.name for n in model.graph.node if n.name}
    for i, node in enumerate(model.graph.node):
        if not node.name:
            base = f"{node.op_type}_{i}"
            name, k = base, 0
            while name in used:
                k += 1
                name = f"{base}_{k}"
            node.name = name
            used.add(name)


def gemm_to_matmul(model: onnx.ModelProto) -> int:
    """Rewrite, in place, each Gemm with a constant weight as MatMul (+ Add for the bias).

    The MatMul keeps the Gemm's name (so exclusion lists still match); the Add is named `<name>_bias`. Gemms with
    alpha/beta other than 1, transA, or a non-constant weight are left as they are. Returns the number rewritten.
    """
    from onnx import helper, numpy_helper

    inits = initializers(model)
    consumers = Counter(i for n in model.graph.node for i in n.input)
    new_nodes = []
    rewritten = 0
    for node in model.graph.node:
        if node.op_type != "Gemm" or len(node.input) < 2:
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = inits.get(node.input[1])
        if (
            weight is None
            or attrs.get("transA", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
            or len(weight.dims) != 2
        ):
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        if attrs.get("transB", 0):
            w = np.ascontiguousarray(w.T)
            if consumers[node.input[1]] > 1:  # shared weight: keep the original, add a transposed copy
                new_w = numpy_helper.from_array(w, node.input[1] + "_T")
                model.graph.initializer.append(new_w)
                weight_name = new_w.name
            else:
                weight.CopyFrom(numpy_helper.from_array(w, weight.name))
                weight_name = weight.name
        else:
            weight_name = node.input[1]
        has_bias = len(node.input) > 2 and node.input[2] != ""
        out = node.output[0]
        mm_out = out + "_matmul" if has_bias else out
        new_nodes.append(helper.make_node("MatMul", [node.input[0], weight_name], [mm_out], name=node.name))
        if has_bias:
            new_nodes.append(helper.make_node("Add", [mm_out, node.input[2]], [out], name=node.name + "_bias"))
        rewritten += 1
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    return rewritten


def unquantize_node_inputs(
    model: onnx.ModelProto, source: onnx.ModelProto, node_names: set[str]
) -> tuple[int, list[str]]:
    """Feed the named nodes their original float activations again, bypassing QuantizeLinear -> DequantizeLinear.

    ORT's QDQ quantizer may still put a Q/DQ pair on a tensor that a float-kept node reads (because another
    consumer, or the producer, is quantized). A node "kept in float" should see the float tensor, so each such input
    is rewired to the Q's float input, and Q/DQ nodes nobody reads any more are dropped. The rewiring is done only
    when that float tensor comes from the same kind of node as in `source` (the graph before quantization); ORT
    can remove a Relu and hand its output name to the layer before it, and then the name no longer means the same
    values. Returns (inputs rewired, names of inputs left quantized).
    """

    def producer_ops(m: onnx.ModelProto) -> dict[str, str]:
        ops = {o: n.op_type for n in m.graph.node for o in n.output}
        ops.update({i.name: "<input>" for i in m.graph.input})
        ops.update({i.name: "<initializer>" for i in m.graph.initializer})
        return ops

    before = producer_ops(source)
    producers = {o: n for n in model.graph.node for o in n.output}
    after = producer_ops(model)
    rewired = 0
    left: list[str] = []
    for node in model.graph.node:
        if node.name not in node_names:
            continue
        for i, name in enumerate(node.input):
            dq = producers.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producers.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                continue  # a constant quantized weight would have no Q: leave it (it is not ours to undo)
            float_name = q.input[0]
            if before.get(float_name) is None or before.get(float_name) != after.get(float_name):
                left.append(f"{node.name}:{name}")
                continue
            node.input[i] = float_name
            rewired += 1
    if rewired:
        remove_dead_nodes(model)
    return rewired, left


def remove_dead_nodes(model: onnx.ModelProto) -> None:
    """Drop nodes whose outputs nobody reads, and initializers nobody reads."""
    outputs = {o.name for o in model.graph.output}
    while True:
        used = {i for n in model.graph.node for i in n.input} | outputs
        keep = [n for n in model.graph.node if any(o in used for o in n.output)]
        if len(keep) == len(model.graph.node):
            break
        del model.graph.node[:]
        model.graph.node.extend(keep)
    used = {i for n in model.graph.node for i in n.input} | outputs
    live = [i for i in model.graph.initializer if i.name in used]
    if len(live) != len(model.graph.initializer):
        del model.graph.initializer[:]
        model.graph.initializer.extend(live)


def node_names(model: onnx.ModelProto) -> set[str]:
    return {n.name for n in model.graph.node}


def check_node_names(model: onnx.ModelProto, names: list[str] | tuple[str, ...], what: str) -> None:
    """Refuse names that are not in the graph (a typo would otherwise silently quantize everything)."""
    known = node_names(model)
    missing = [n for n in names if n not in known]
    if missing:
        sample = ", ".join(sorted(known)[:8])
        raise TechniqueError(
            f"{what}: no node named {', '.join(repr(m) for m in missing[:5])} in the model",
            fix=f"use node names from the model graph (for example: {sample})",
        )


def load_named(
    path: Path | str, names: list[str] | tuple[str, ...] = (), what: str = "nodes_to_exclude"
) -> onnx.ModelProto:
    """The model with every node named, and the node names a setting lists (`what`) checked to exist: the start of
    every technique whose settings refer to nodes by name."""
    model = load(path)
    ensure_node_names(model)
    check_node_names(model, names, what)
    return model


# ---------------------------------------------------------------- calibration


def calibration_feeds(
    data: LabelledData, input_names: list[str], count: int, batch_size: int | None
) -> list[dict[str, np.ndarray]]:
    """The first `count` samples of `data` as a list of feed dicts (batches of `batch_size`, or 16 when dynamic)."""
    missing = [n for n in input_names if n not in data.inputs]
    if missing:
        raise TechniqueError(
            f"the calibration data has no array for model input(s) {missing}",
            fix=f"give arrays named {input_names}",
        )
    n = min(count, len(data))
    step = batch_size or 16
    feeds = []
    for start in range(0, n, step):
        stop = min(start + step, n)
        if batch_size is not None and stop - start != batch_size:
            break  # a fixed-batch model cannot take a short last batch
        batch = data.batch(start, stop)  # sliced where the data spec puts each input's samples
        feeds.append({k: batch[k] for k in input_names})
    return feeds


def make_calibration_reader(feeds: list[dict[str, np.ndarray]]) -> Any:
    """An `onnxruntime.quantization.CalibrationDataReader` over prepared feeds."""
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[dict[str, np.ndarray]] = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

        def rewind(self) -> None:
            self._it = iter(feeds)

    return _Reader()


def try_preprocess(src: Path, dst: Path) -> str | None:
    """Run ORT's `quant_pre_process` (shape inference + graph clean-up). Returns None on success, else the reason."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        with quiet():
            quant_pre_process(str(src), str(dst), skip_symbolic_shape=False)
        if not dst.exists():
            return "pre-processing wrote no file"
        return None
    except Exception as exc:  # noqa: BLE001 - pre-processing is optional; say why and go on without it
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run an ONNX Runtime quantization call quietly and tidily.

    Silences its prints and INFO logging (they would pollute the worker's JSON-lines stdout), and runs it in a
    scratch working directory: for large models ORT writes temporary files (`sym_shape_infer_temp.onnx`,
    `<uuid>.data`) into the current directory and leaves them there. The chdir is process-wide, which is fine in
    the single-threaded worker; never call this from a thread beside other work.
    """
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    cwd = os.getcwd()
    scratch = tempfile.mkdtemp(prefix="shrinkwise-ort-")
    try:
        os.chdir(scratch)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        os.chdir(cwd)
        shutil.rmtree(scratch, ignore_errors=True)
        root.setLevel(level)


# ---------------------------------------------------------------- counting


def tensor_nbytes(t: onnx.TensorProto) -> int:
    """Bytes of a tensor's payload as stored."""
    from onnx import helper

    numel = int(np.prod(t.dims)) if len(t.dims) else 1
    try:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    except Exception:  # noqa: BLE001 - unusual types: fall back to the raw payload
        return len(t.raw_data)
    bits = {16: 4, 17: 4, 22: 4, 23: 2}.get(t.data_type)  # 4-bit / 2-bit types
    if bits:
        return math.ceil(numel * bits / 8)
    return numel * itemsize


def count_params(model: onnx.ModelProto) -> int:
    """Elements in float initializers (the model's parameters after the exporter's constant folding)."""
    from onnx import TensorProto

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16)
    return int(
        sum(int(np.prod(i.dims)) if len(i.dims) else 1 for i in model.graph.initializer if i.data_type in floats)
    )


# ---------------------------------------------------------------- quantization plumbing


def prepared_copy(
    src: Path, work_dir: Path, preprocess: bool, keep_names: tuple[str, ...] | list[str] = ()
) -> tuple[Path, list[str]]:
    """The file to quantize from, plus log lines saying what was done.

    Nodes get unique names first (exclusion lists refer to them). With `preprocess`, ORT's `quant_pre_process`
    runs too; its graph clean-up may fuse or rename nodes, so when a name in `keep_names` would vanish the
    un-processed graph is used instead (and the log says so).
    """
    logs: list[str] = []
    model = load(src)
    before = node_names(model)
    ensure_node_names(model)
    if keep_names:
        check_node_names(model, list(keep_names), "nodes to keep in float")
    named = src
    if node_names(model) != before:
        named = work_dir / "named.onnx"
        save(model, named)
    if not preprocess:
        return named, logs
    dst = work_dir / "preprocessed.onnx"
    why = try_preprocess(named, dst)
    if why is not None:
        logs.append(f"pre-processing skipped ({why}); quantizing the graph as it is")
        return named, logs
    if keep_names:
        lost = [n for n in keep_names if n not in node_names(load(dst))]
        if lost:
            logs.append(
                f"pre-processing renamed or fused {len(lost)} node(s) that must stay float (e.g. {lost[0]!r}); "
                "quantizing the graph without pre-processing"
            )
            return named, logs
    logs.append("pre-processed with onnxruntime quant_pre_process (shape inference and graph clean-up)")
    return dst, logs


QUANT_OPS = (
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "ConvInteger",
    "MatMulInteger",
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "QLinearAdd",
    "QLinearMul",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
    "MatMulNBits",
    "GatherBlockQuantized",
    "QAttention",
    "QEmbedLayerNormalization",
    "DynamicQuantizeLSTM",
)
# Those whose arithmetic runs through ONNX Runtime's int8 GEMM (a QuantizeLinear starts a QDQ pair ORT fuses into
# one); the rest only store low-bit weights (MatMulNBits, GatherBlockQuantized) or add/multiply elementwise.
INT8_GEMM_OPS = frozenset(QUANT_OPS) - {
    "DequantizeLinear",
    "QLinearAdd",
    "QLinearMul",
    "MatMulNBits",
    "GatherBlockQuantized",
    "QEmbedLayerNormalization",
}


def quant_summary(model: onnx.ModelProto) -> dict[str, int]:
    counts = op_counts(model)
    return {k: counts[k] for k in QUANT_OPS if counts.get(k)}


def quantized_weight_count(model: onnx.ModelProto) -> int:
    """Initializers stored as 8-bit or 4-bit integers (the quantized weights)."""
    from onnx import TensorProto

    low = {TensorProto.INT8, TensorProto.UINT8, TensorProto.INT4, TensorProto.UINT4}
    return sum(
        1 for i in model.graph.initializer if i.data_type in low and int(np.prod(i.dims) if len(i.dims) else 1) > 1
    )
