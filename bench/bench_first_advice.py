"""Time to first advice on MiniLM-L6, repeated in fresh processes (the number bench_autopilot prints once).

The model is exported and the data written once; then each repetition is a new Python process that makes the
project, attaches the model, adds the data, profiles and advises (`bench_autopilot.time_first_advice`), with the
modules bench_autopilot has loaded by then (torch and onnx from the export, onnxruntime from the harness) imported
before the clock starts, as there. Prints each run and the median; the target is 3 s. Needs the `bench` extra.

    .venv/bin/python -m bench.bench_first_advice [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

KEYS = ("total_s", "load_s", "data_s", "profile_s", "advise_s")


def child(work: Path) -> None:
    import onnx  # noqa: F401 - loaded in bench_autopilot before its clock starts (the export, the harness)
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401

    from bench.bench_autopilot import time_first_advice

    _, t = time_first_advice(work / "project" / "minilm.shrinkwise.json", work / "model.onnx", work / "data")
    print(json.dumps(t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    import numpy as np

    from bench import minilm

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        minilm.export(work / "model.onnx", pooled=True)
        (work / "data").mkdir()
        np.savez(work / "data" / "eval.npz", **minilm.padded(minilm.tokenize(minilm.sentences(300, seed=1))))  # type: ignore[arg-type]
        np.savez(work / "data" / "calibration.npz", **minilm.padded(minilm.tokenize(minilm.sentences(100, seed=2))))  # type: ignore[arg-type]
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_first_advice", "--child", str(work)],
                capture_output=True,
                text=True,
                check=True,
            )
            lines = out.stdout.strip().splitlines()
            print(lines[-2], flush=True)
            runs.append(json.loads(lines[-1]))
    print(
        "  median of %d fresh processes: " % len(runs)
        + ", ".join(f"{k.removesuffix('_s')} {statistics.median(r[k] for r in runs):.2f} s" for k in KEYS)
    )


if __name__ == "__main__":
    main()
