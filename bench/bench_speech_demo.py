"""The speech demo through the CLI's own flow, and its numbers as a Markdown table (bench/README.md).

    .venv/bin/python -m bench.bench_speech_demo [--out DIR]

Builds `shrinkwise demo --speech`, runs fp16, int8_dynamic and int8_static exactly as a user would
(`shrinkwise run`), and prints per candidate: file size, host latency (median and p90 at batch 1, timed interleaved
with the original by the engine), accuracy on the 320 held-out synthetic clips, agreement with the original and
accuracy per noise level. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from shrinkwise.workspace.cli import main as cli
from shrinkwise.workspace.project import load_project

TECHNIQUES = ("fp16", "int8_dynamic", "int8_static")


def run(out: Path) -> None:
    started = time.perf_counter()
    assert cli(["-q", "demo", "--speech", "--out", str(out), "--force"]) == 0
    for technique in TECHNIQUES:
        assert cli(["-q", "run", str(out), technique]) == 0, technique
    elapsed = time.perf_counter() - started
    project = load_project(next(out.glob("*.shrinkwise.json")))
    rows = [e for e in project.experiments if e.kind in ("baseline", "run") and e.status == "finished"]
    print("| candidate | size | latency median | latency p90 | accuracy | agreement | noisy / moderate / quiet |")
    print("|---|---|---|---|---|---|---|")
    for e in rows:
        metrics = ("size_bytes", "latency_ms_median", "latency_ms_p90", "accuracy", "top1_agreement")
        found = {k: e.measurement(k) for k in metrics}
        v = {k: float("nan") if m is None else m.value for k, m in found.items()}
        groups = e.quality.per_subgroup_accuracy if e.quality else {}
        per_group = " / ".join(f"{groups.get(g, float('nan')):.4f}" for g in ("noisy", "moderate", "quiet"))
        print(
            f"| {e.label} | {v['size_bytes'] / 1000:.1f} kB | {v['latency_ms_median']:.3f} ms | "
            f"{v['latency_ms_p90']:.3f} ms | {v['accuracy']:.4f} | {v['top1_agreement']:.4f} | "
            f"{per_group} |"
        )
    print(f"\nbuild + 3 runs: {elapsed:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the demo project (default: a temporary one)")
    args = parser.parse_args()
    if args.out:
        run(args.out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "speech-demo")


if __name__ == "__main__":
    main()
