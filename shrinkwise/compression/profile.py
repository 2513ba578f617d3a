"""Profiling an ONNX model: totals, a per-layer table, and measured time per node.

Shapes come from ONNX shape inference (batch fixed to 1), MACs are counted for Conv, Gemm, MatMul and the recurrent
LSTM/GRU/RNN (the layers that dominate compute; an If counts its dearer branch), parameters are counted once however
many nodes share an initializer (and include those inside If/Loop/Scan bodies), and per-node times come from ONNX Runtime's own profiler. The profiler runs with graph
optimizations off so that every node of the file maps to one timed kernel; the note on the profile says so, since
an optimized session fuses nodes and runs faster in total.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shrinkwise.compression.errors import runtime_errors
from shrinkwise.compression.profile_types import LayerProfile, ModelProfile

if TYPE_CHECKING:
    import onnx

_DTYPE_NAMES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    5: "int16",
    6: "int32",
    7: "int64",
    10: "float16",
    11: "float64",
    16: "bfloat16",
    21: "uint4",
    22: "int4",
}
_DTYPE_BYTES = {
    "float32": 4,
    "uint8": 1,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "float16": 2,
    "float64": 8,
    "bfloat16": 2,
    "uint4": 0.5,
    "int4": 0.5,
}


def _tensor_bytes(tensor) -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    dtype = _DTYPE_NAMES.get(tensor.data_type, f"type{tensor.data_type}")
    count = int(np.prod(tensor.dims)) if len(tensor.dims) else 1
    return dtype, count, int(count * _DTYPE_BYTES.get(dtype, 4))


# Initializers above this many elements are weights: shape inference needs their shapes, never their values.
_SKELETON_MIN_ELEMENTS = 1024
_INDEX_TYPES = (6, 7)  # INT32, INT64: shape-like tensors (position ids, ...) keep their values for data propagation


def _skeleton(model):  # type: ignore[no-untyped-def]
    """The model with each large weight replaced by a graph input of the same type and shape.

    Why: `infer_shapes` serializes the whole model to hand it to C++ and parses the result back; on a 0.1 GB
    transformer that was 0.3-0.7 s of the profile, for shapes it reads off the weights' dims alone. The skeleton
    gives the same inferred shapes in milliseconds. Integer and small tensors stay (data propagation reads them).
    """
    import onnx
    from onnx import helper

    m = onnx.ModelProto()
    m.ir_version = model.ir_version
    m.opset_import.extend(model.opset_import)
    m.functions.extend(model.functions)
    g, src = m.graph, model.graph
    g.node.extend(src.node)
    g.input.extend(src.input)
    g.output.extend(src.output)
    g.value_info.extend(src.value_info)
    declared = {vi.name for vi in src.input}
    for t in src.initializer:
        elements = int(np.prod(t.dims)) if len(t.dims) else 1
        if elements <= _SKELETON_MIN_ELEMENTS or t.data_type in _INDEX_TYPES:
            g.initializer.append(t)
        elif t.name not in declared:
            g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return m


def _shapes_at_batch_one(model):  # type: ignore[no-untyped-def]
    """Value name -> (shape, elem_type) after shape inference with dynamic axes pinned to 1."""
    import onnx

    m = _skeleton(model)
    for vi in m.graph.input:
        for d in vi.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.dim_value = 1
    try:
        m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    except Exception:
        return {}
    out = {}
    for graph in _graphs(m.graph):
        for vi in list(graph.value_info) + list(graph.output) + list(graph.input):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
            out.setdefault(vi.name, (dims, vi.type.tensor_type.elem_type))
    return out


def _subgraphs(node):  # type: ignore[no-untyped-def]
    """The bodies of an If / Loop / Scan node (attributes of type GRAPH or GRAPHS)."""
    for attr in node.attribute:
        if attr.HasField("g"):
            yield attr.g
        yield from attr.graphs


def _graphs(graph):  # type: ignore[no-untyped-def]
    """`graph` and every graph nested in it."""
    yield graph
    for node in graph.node:
        for sub in _subgraphs(node):
            yield from _graphs(sub)


# Gates per recurrent op: W·x + R·h is computed for each gate at every time step.
_RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _recurrent_macs(node, shapes) -> int | None:  # type: ignore[no-untyped-def]
    """MACs of an LSTM/GRU/RNN: seq × batch × directions × gates × hidden × (input + hidden)."""
    x = shapes.get(node.input[0], (None,))[0]
    hidden = next((a.i for a in node.attribute if a.name == "hidden_size"), 0)
    if not x or len(x) != 3 or any(d is None for d in x) or not hidden:
        return None
    layout = next((a.i for a in node.attribute if a.name == "layout"), 0)
    seq, batch = (x[1], x[0]) if layout else (x[0], x[1])
    direction = next((a.s for a in node.attribute if a.name == "direction"), b"forward")
    dirs = 2 if direction == b"bidirectional" else 1
    return int(seq * batch * dirs * _RECURRENT_GATES[node.op_type] * hidden * (x[2] + hidden))


def _macs(node, shapes, inits) -> int | None:  # type: ignore[no-untyped-def]
    if node.op_type in _RECURRENT_GATES:
        return _recurrent_macs(node, shapes)
    if node.op_type == "If":
        # One branch runs: count the dearer one (None when neither branch's MACs are known).
        branches = [_graph_macs(g, shapes, inits) for g in _subgraphs(node)]
        known = [b for b in branches if b is not None]
        return max(known) if known else None
    out_shape = shapes.get(node.output[0], (None, None))[0] if node.output else None
    if not out_shape or any(d is None for d in out_shape):
        return None
    out_elems = int(np.prod(out_shape))
    if node.op_type == "ConvTranspose" and len(node.input) > 1:  # each input element feeds C_out/groups * kH * kW
        x = shapes.get(node.input[0], (None,))[0]
        w = inits.get(node.input[1]) or shapes.get(node.input[1], (None,))[0]
        dims = list(w.dims) if hasattr(w, "dims") else w
        if not x or any(d is None for d in x) or not dims:
            return None
        return int(np.prod(x)) * int(np.prod(dims[1:]))
    if node.op_type in ("Conv", "ConvInteger", "QLinearConv"):
        w_name = node.input[3] if node.op_type == "QLinearConv" else node.input[1]
        w = inits.get(w_name) or shapes.get(w_name, (None,))[0]
        dims = list(w.dims) if hasattr(w, "dims") else w
        if not dims:
            return None
        return out_elems * int(np.prod(dims[1:]))  # C_in/groups * kH * kW per output element
    if node.op_type in ("Gemm", "MatMul", "MatMulInteger", "QGemm", "QLinearMatMul", "FusedMatMul", "MatMulNBits"):
        a = shapes.get(node.input[0], (None,))[0]
        if not a or a[-1] is None:
            return None
        k = a[-2] if node.op_type == "Gemm" and any(x.name == "transA" and x.i for x in node.attribute) else a[-1]
        return out_elems * int(k)
    return None


def _graph_macs(graph, shapes, inits) -> int | None:  # type: ignore[no-untyped-def]
    macs = [_macs(n, shapes, {**inits, **{t.name: t for t in graph.initializer}}) for n in graph.node]
    known = [m for m in macs if m is not None]
    return sum(known) if known else None


def count_macs(model: onnx.ModelProto) -> int | None:
    """The engine's one MAC counter: multiply-accumulates at batch 1 of every node whose count is known (Conv,
    ConvTranspose, Gemm/MatMul and their quantized forms, LSTM/GRU/RNN, the dearer If branch); None when none is.
    The profile's per-layer `macs` and its `total_macs` are this count, node by node."""
    shapes = _shapes_at_batch_one(model)
    inits = {t.name: t for t in model.graph.initializer}
    known = [m for n in model.graph.node if (m := _macs(n, shapes, inits)) is not None]
    return sum(known) if known else None


# Per-node timing runs: at least this many, and more (up to `runs`) while they fit in the time box. Why a box: the
# profile comes before the first advice; 20 profiled runs of a 0.1 GB transformer took half a second, while the time
# shares the advisor reads settle within a few runs. A model of microseconds still gets all `runs`.
_MIN_TIMED_RUNS = 5
_TIMING_BOX_S = 0.15


# ORT profiler type names -> ONNX element types, for the shapes the profiled run saw.
_ORT_TYPES = {"float": 1, "uint8_t": 2, "int8_t": 3, "int16_t": 5, "int32_t": 6, "int64_t": 7, "bool": 9}
_ORT_TYPES |= {"MLFloat16": 10, "double": 11, "BFloat16": 16}

RunShapes = dict[str, tuple[list[int], int]]


def _node_times(
    model_path: Path, feed: dict[str, np.ndarray], runs: int
) -> tuple[dict[str, float], float, int, RunShapes]:
    """Median time (µs) per node from ORT's profiler, optimizations off; the sum of those medians; how many runs
    the medians are of (between `_MIN_TIMED_RUNS` and `runs`, as many as fit in `_TIMING_BOX_S`); and the output
    shapes each node really produced on `feed`, by node name and output position (`_run_shapes` names them)."""
    from shrinkwise.compression.measure.runtime import make_session

    with tempfile.TemporaryDirectory() as tmp:
        sess = make_session(model_path, threads=1, optimize=False, profile_prefix=os.path.join(tmp, "ortprof"))
        sess.run(None, feed)  # warm-up: first-run allocations
        start = time.perf_counter()
        sess.run(None, feed)  # warm-up, and the run time that sizes the box
        one = max(time.perf_counter() - start, 1e-9)
        timed = max(min(runs, _MIN_TIMED_RUNS), min(runs, int(_TIMING_BOX_S / one)))
        for _ in range(timed):
            sess.run(None, feed)
        trace_path = sess.end_profiling()
        events = json.loads(Path(trace_path).read_text())
    per_node: dict[str, list[float]] = defaultdict(list)
    produced: RunShapes = {}
    for ev in events:
        if ev.get("cat") == "Node" and ev.get("name", "").endswith("_kernel_time"):
            node = ev["name"][: -len("_kernel_time")]
            per_node[node].append(float(ev["dur"]))
            for k, out in enumerate(ev.get("args", {}).get("output_type_shape", [])):
                for type_name, dims in dict(out).items():
                    if isinstance(dims, list) and type_name in _ORT_TYPES:
                        produced[f"{node}\0{k}"] = ([int(d) for d in dims], _ORT_TYPES[type_name])
    # The first 2 runs are warm-up: keep the last `timed` samples of each node.
    medians = {name: float(np.median(vals[-timed:])) for name, vals in per_node.items()}
    return medians, float(sum(medians.values())), timed, produced


def _run_shapes(model, produced: RunShapes, feed: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    """Value name -> (shape, elem_type) as the profiled run saw them: the feed's inputs and every node's outputs.
    Why: static shape inference loses a transformer's sequence length at data-dependent Slices (position ids), which
    left MiniLM with no MAC count; the run knows every shape, at the profiled input's length."""
    from onnx.helper import np_dtype_to_tensor_dtype

    out = {name: (list(a.shape), int(np_dtype_to_tensor_dtype(a.dtype))) for name, a in feed.items()}
    for i, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        for k, value in enumerate(node.output):
            if f"{name}\0{k}" in produced:
                out[value] = produced[f"{name}\0{k}"]
    return out


def profile_model(model_path: Path, feed: dict[str, np.ndarray] | None = None, runs: int = 20) -> ModelProfile:
    """Profile an ONNX file. `feed` is one batch-1 input; without it, per-node times are left out. `runs`: at most
    this many timed runs per node (fewer on a slow model, see `_TIMING_BOX_S`; the timing note says how many)."""
    import onnx

    model_path = Path(model_path)
    # ONNX Runtime times the nodes on a second thread while this one reads the file and infers shapes: ORT lets go of
    # the GIL while it builds its session and runs, so the two overlap (0.1-0.3 s of a transformer's profile).
    pool = ThreadPoolExecutor(max_workers=1) if feed is not None else None
    timing = pool.submit(_node_times, model_path, feed, runs) if pool is not None and feed is not None else None
    try:
        model = onnx.load(str(model_path))
        inits = {t.name: t for t in model.graph.initializer}
        bytes_by_dtype: Counter[str] = Counter()
        param_count = 0
        for graph in _graphs(model.graph):  # initializers of If/Loop/Scan bodies are parameters too
            for t in graph.initializer:
                dtype, count, nbytes = _tensor_bytes(t)
                bytes_by_dtype[dtype] += nbytes
                param_count += count
        shapes = _shapes_at_batch_one(model)
    except BaseException:
        _drain(pool, timing)
        raise
    times: dict[str, float] = {}
    total_time = None
    if pool is not None and timing is not None:
        with runtime_errors(model_path, "run the model to time its layers"), pool:
            times, total_time, runs, produced = timing.result()
        # Shapes static inference could not pin (a symbolic sequence length) are taken from the profiled run.
        seen = _run_shapes(model, produced, feed or {})
        shapes = {**seen, **{k: v for k, v in shapes.items() if v[0] and all(d is not None for d in v[0])}}
    layers = []
    counted: set[str] = set()  # an initializer shared by many nodes counts once, at its first user
    for i, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        params = weight_bytes = 0
        for inp in _weight_inputs(node):
            if inp in inits and inp not in counted:
                counted.add(inp)
                _, count, nbytes = _tensor_bytes(inits[inp])
                params += count
                weight_bytes += nbytes
        for sub in _subgraphs(node):
            for g in _graphs(sub):
                for t in g.initializer:
                    _, count, nbytes = _tensor_bytes(t)
                    params += count
                    weight_bytes += nbytes
        out_bytes = None
        if node.output and node.output[0] in shapes:
            dims, elem = shapes[node.output[0]]
            if dims and all(d is not None for d in dims):
                out_bytes = int(np.prod(dims) * _DTYPE_BYTES.get(_DTYPE_NAMES.get(elem, "float32"), 4))
        layers.append(
            LayerProfile(
                name=name,
                op_type=node.op_type,
                parameters=params,
                weight_bytes=weight_bytes,
                macs=_macs(node, shapes, inits),
                output_bytes=out_bytes,
                time_us=times.get(name),
            )
        )
    macs = [l.macs for l in layers if l.macs is not None]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return ModelProfile(
        file_bytes=model_path.stat().st_size + sum(p.stat().st_size for p in _external_files(model, model_path)),
        parameters=param_count,
        weight_bytes_by_dtype=dict(sorted(bytes_by_dtype.items())),
        op_count=len(model.graph.node),
        opset=int(opset),
        ir_version=int(model.ir_version),
        layers=layers,
        op_histogram=dict(Counter(n.op_type for n in model.graph.node).most_common()),
        total_macs=sum(macs) if macs else None,
        node_time_total_us=total_time,
        timing_note=(
            "per-node times: ONNX Runtime profiler, CPU, 1 thread, batch 1, graph optimizations off so each node is "
            f"one kernel; median of {runs} runs{_dynamic_note(model, feed)}"
            if feed is not None
            else "no per-node times (no input to run)"
        ),
    )


def _dynamic_note(model, feed: dict[str, np.ndarray] | None) -> str:  # type: ignore[no-untyped-def]
    """'; MACs at input_ids [1, 13] …' when an input has a dynamic axis past the batch: the count is this input's."""
    if not feed:
        return ""
    dynamic = [
        vi.name
        for vi in model.graph.input
        if vi.name in feed and any(not d.HasField("dim_value") for d in list(vi.type.tensor_type.shape.dim)[1:])
    ]
    if not dynamic:
        return ""
    shown = ", ".join(f"{n} {list(feed[n].shape)}" for n in dynamic)
    return f"; MACs and activation sizes at the profiled input's shape ({shown}): the model's own is dynamic"


def _drain(pool: ThreadPoolExecutor | None, timing: Future[Any] | None) -> None:
    """Wait for the timing thread of a profile that failed before it read the times (its error, if any, is moot)."""
    if pool is not None and timing is not None:
        timing.exception()
        pool.shutdown()


def _weight_inputs(node):  # type: ignore[no-untyped-def]
    """The node's inputs, then the outer-scope names its subgraphs read (an LSTM inside an If reads W from outside)."""
    yield from node.input
    for sub in _subgraphs(node):
        for g in _graphs(sub):
            for n in g.node:
                yield from n.input


def _external_files(model, model_path: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    from onnx.external_data_helper import uses_external_data

    files = set()
    for t in model.graph.initializer:
        if uses_external_data(t):
            loc = next((e.value for e in t.external_data if e.key == "location"), None)
            if loc:
                files.add(model_path.parent / loc)
    return [f for f in files if f.exists()]
