"""Creating ONNX Runtime sessions and running them over data, the same way for every candidate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime as ort

    from shrinkwise.compression.data import Dataset
    from shrinkwise.compression.signature import InputSignature


# ONNX Runtime's documented session option for exact (U8U8) int8 GEMMs on x86 CPUs without VNNI.
EXACT_INT8_OPTION = "session.x64quantprecision"


def make_session(
    path: Path | str,
    threads: int = 1,
    optimize: bool = True,
    profile_prefix: str | None = None,
    exact_int8: bool = False,
) -> ort.InferenceSession:
    """A CPU session with a fixed thread count so that timings are comparable across candidates.

    `exact_int8` is for quality: on an x86 CPU without VNNI the default int8 kernel saturates with full-range
    weights, an artefact of this host that a phone, an Arm board or a VNNI CPU does not share; the exact kernel
    (slower) gives the model's own numbers. Elsewhere it changes nothing. Timing sessions keep the default kernel.
    """
    import onnxruntime as ort

    from shrinkwise.cpuflags import int8_gemm_saturates

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if exact_int8 and int8_gemm_saturates():
        opts.add_session_config_entry(EXACT_INT8_OPTION, "1")
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if profile_prefix is not None:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def quality_session(path: Path | str, threads: int = 1) -> tuple[ort.InferenceSession, bool]:
    """The session quality is measured with, and whether its int8 GEMMs may saturate: the exact kernel where the
    default one saturates (`make_session(exact_int8=True)`), else the default. ONNX Runtime 1.32 cannot apply the
    exact-kernel rewrite to every graph (an int8 weight shared by two layers fails at load), so such a graph is
    measured with the default kernel and the caller says so."""
    from shrinkwise.cpuflags import int8_gemm_saturates

    if not int8_gemm_saturates():
        return make_session(path, threads=threads), False
    try:
        return make_session(path, threads=threads, exact_int8=True), False
    except Exception:  # noqa: BLE001 - whatever ORT raises for the rewrite; the default session is tried next
        return make_session(path, threads=threads), True


# ONNX Runtime's element type names, as numpy names (`signature.NUMPY_DTYPES`).
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(bfloat16)": "bfloat16",
}


def session_signature(session: ort.InferenceSession) -> InputSignature:
    """The inputs and outputs a loaded session declares (an unnamed dynamic axis becomes '?')."""
    from shrinkwise.compression.signature import InputSignature, TensorSpec

    def spec(meta: object) -> TensorSpec:
        shape = [d if isinstance(d, (int, str)) else "?" for d in (meta.shape or [])]  # type: ignore[attr-defined]
        return TensorSpec(name=meta.name, shape=shape, dtype=_ORT_DTYPES.get(meta.type, "float32"))  # type: ignore[attr-defined]

    return InputSignature(
        inputs=[spec(m) for m in session.get_inputs()], outputs=[spec(m) for m in session.get_outputs()]
    )


def run_batches(
    session: ort.InferenceSession,
    inputs: Dataset | dict[str, np.ndarray],
    batch_size: int = 64,
    output_axes: dict[str, int | None] | None = None,
) -> list[np.ndarray]:
    """Every output over all samples, in the session's output order, samples on axis 0 (see `run_outputs`)."""
    outs = run_outputs(session, inputs, batch_size, output_axes)
    return [outs[o.name] for o in session.get_outputs()]


def run_outputs(
    session: ort.InferenceSession,
    inputs: Dataset | dict[str, np.ndarray],
    batch_size: int = 64,
    output_axes: dict[str, int | None] | None = None,
) -> dict[str, np.ndarray]:
    """Run every sample through the session; each output is gathered along its own samples axis and returned
    with the samples on axis 0 (`stateN [2, batch, 128]` comes back as [N, 2, 128]).

    Inputs are sliced where the data spec says their samples are (a `Dataset`'s axes; a plain dict has them on
    axis 0). An output's samples axis is the one named like a batched input's dynamic batch axis, else the one
    given in `output_axes`, else axis 0 when it has the batch's length, else the first axis that has it; an output
    with no such axis (one value per batch) is returned as the first batch gave it. A model exported with a fixed
    batch is run that many samples at a time.
    """
    from shrinkwise.compression.data import Dataset

    data = inputs if isinstance(inputs, Dataset) else Dataset(inputs=dict(inputs))
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in names if n not in data.inputs]
    if missing:
        raise KeyError(f"data has no array for model input(s) {missing}")
    batch_dims: set[str] = set()
    fixed: int | None = None
    for meta in session.get_inputs():
        axis = data.axes.get(meta.name, 0)
        if axis is None or axis >= len(meta.shape):
            continue
        dim = meta.shape[axis]
        if isinstance(dim, int) and dim >= 1:
            fixed = fixed or dim  # a fixed batch: the first batched input decides
        elif isinstance(dim, str):
            batch_dims.add(dim)
    batch_size = fixed or batch_size
    declared = dict(output_axes or {})
    named: dict[str, int | None] = {}
    for meta in session.get_outputs():
        if meta.name in declared:
            named[meta.name] = declared[meta.name]
            continue
        shape = meta.shape or []
        named[meta.name] = next((i for i, d in enumerate(shape) if isinstance(d, str) and d in batch_dims), -1)
    n = len(data)
    chunks: dict[str, list[np.ndarray]] = {o.name: [] for o in session.get_outputs()}
    axes: dict[str, int | None] = {}
    order = [o.name for o in session.get_outputs()]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        results = session.run(None, _feed(data, names, start, stop))
        for name, value in zip(order, results, strict=True):
            value = np.asarray(value)
            if name not in axes:
                axes[name] = _samples_axis(value, named[name], stop - start)
            chunks[name].append(value)
    out: dict[str, np.ndarray] = {}
    for name in order:
        axis = axes.get(name)
        parts = chunks[name]
        if not parts:
            continue
        if axis is None:
            out[name] = parts[0]
        else:
            out[name] = np.moveaxis(np.concatenate(parts, axis=axis), axis, 0)
    return out


def _feed(data: Dataset, names: list[str], start: int, stop: int) -> dict[str, np.ndarray]:
    batch = data.batch(start, stop)
    return {k: batch[k] for k in names}


def _samples_axis(value: np.ndarray, named: int | None, count: int) -> int | None:
    """Where the samples are in one batch's output (`named` -1: not known from the model's shapes)."""
    if named is not None and named >= 0 and named < value.ndim:
        return named
    if named is None:
        return None
    if value.ndim and value.shape[0] == count:
        return 0
    return next((i for i, d in enumerate(value.shape) if d == count), None)
