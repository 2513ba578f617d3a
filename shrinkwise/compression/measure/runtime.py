"""Creating ONNX Runtime sessions and running them over data, the same way for every candidate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime as ort


def make_session(
    path: Path | str, threads: int = 1, optimize: bool = True, profile_prefix: str | None = None
) -> ort.InferenceSession:
    """A CPU session with a fixed thread count so that timings are comparable across candidates."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if profile_prefix is not None:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def run_batches(session: ort.InferenceSession, inputs: dict[str, np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
    """Run every sample through the session and return each output concatenated along axis 0.

    A model exported with a fixed batch of 1 is run one sample at a time.
    """
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in names if n not in inputs]
    if missing:
        raise KeyError(f"data has no array for model input(s) {missing}")
    first = session.get_inputs()[0].shape
    if first and isinstance(first[0], int) and first[0] >= 1:
        batch_size = first[0]
    n = len(inputs[names[0]])
    chunks: list[list[np.ndarray]] = []
    for start in range(0, n, batch_size):
        feed = {k: inputs[k][start : start + batch_size] for k in names}
        chunks.append(session.run(None, feed))
    return [np.concatenate([c[i] for c in chunks], axis=0) for i in range(len(chunks[0]))]
