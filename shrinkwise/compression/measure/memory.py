"""Peak memory of an ONNX Runtime session, measured in a fresh child process.

Python's allocator and earlier sessions pollute the parent's numbers, so a fresh child loads onnxruntime, resets
the kernel's peak-RSS mark (Linux `clear_refs`), creates the session, runs it, and reports peak minus the RSS
before. Linux/macOS only
(`resource`); elsewhere the measurement is skipped rather than guessed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

_CHILD = r"""
import json, resource, sys
import numpy as np
import onnxruntime as ort
path, feed_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
feed = dict(np.load(feed_path, allow_pickle=False))

def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)

linux = sys.platform.startswith("linux")
if linux:
    before = status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current RSS
else:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes
o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
s = ort.InferenceSession(path, sess_options=o, providers=["CPUExecutionProvider"])
for _ in range(5):
    s.run(None, feed)
peak = status_mb("VmHWM") if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"peak_mb": peak - before}))
"""


def peak_session_memory_mb(
    model_path: Path, feed: dict[str, np.ndarray], work_dir: Path, threads: int = 1
) -> dict[str, float] | None:
    """Peak resident memory added by loading and running the model (MB), or None where it cannot be measured."""
    if sys.platform.startswith("win"):
        return None
    work_dir.mkdir(parents=True, exist_ok=True)
    feed_path = work_dir / "memory_feed.npz"
    np.savez(feed_path, **feed)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(model_path), str(feed_path), str(threads)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        feed_path.unlink(missing_ok=True)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])
