"""Every technique on the demo CNN and on MiniLM-L6, against the ONNX Runtime defaults a plain script would use.

Prints, per model and candidate: size ratio, latency ratio (1 and 2 threads; median of per-round paired ratios with
their IQR as a noise bar), latency median/p90 and quality (demo: held-out accuracy and agreement with fp32; MiniLM:
cosine of sentence embeddings to fp32, mean/min). All candidates' sessions are timed interleaved in one process.

    .venv/bin/python -m bench.bench_techniques                 # both models (MiniLM needs the 'bench' extra)
    .venv/bin/python -m bench.bench_techniques --models demo --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shrinkwise.compression.catalog import technique_module
from shrinkwise.compression.measure.latency import measure_latency
from shrinkwise.compression.measure.runtime import make_session, run_batches
from shrinkwise.compression.technique_api import LabelledData, TechniqueContext, drive


@dataclass
class Candidate:
    name: str
    path: Path
    build_s: float
    note: str = ""
    encoded_bytes: int | None = None
    quality: dict[str, float] = field(default_factory=dict)
    latency: dict[int, Any] = field(default_factory=dict)


def run_technique(technique: str, ctx: TechniqueContext, **settings: Any) -> tuple[Path, float, str, int | None]:
    """Drive a technique generator to its artifact, as the worker does."""
    module = technique_module(technique)
    config = module.Config(**settings)
    t0 = time.perf_counter()
    artifact = drive(module.apply(ctx, config))
    return ctx.out_dir / artifact.path, time.perf_counter() - t0, artifact.summary, artifact.encoded_size_bytes


# --- peer baselines: what a user gets from ONNX Runtime's defaults in a plain script ---------------------------------


def ort_default_dynamic(src: Path, out: Path) -> Path:
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(src), str(out))
    return out


def ort_default_static(src: Path, out: Path, calib_feeds: list[dict[str, np.ndarray]]) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calib_feeds)

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.it, None)

    quantize_static(str(src), str(out), Reader())
    return out


def ort_default_fp16(src: Path, out: Path) -> Path:
    import onnx
    from onnxconverter_common.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(out))
    return out


def timed(fn: Callable[[], Path]) -> tuple[Path, float]:
    t0 = time.perf_counter()
    p = fn()
    return p, time.perf_counter() - t0


# --- models ----------------------------------------------------------------------------------------------------------


def demo_candidates(
    work: Path, quick: bool
) -> tuple[list[Candidate], Callable[[Path], dict[str, float]], dict[str, np.ndarray]]:
    from shrinkwise.compression.intake import torch_model_factory
    from shrinkwise.workspace.demo import build_demo

    session = build_demo(work / "demo", measure=False)
    sets = session.datasets()
    train, evaluation = sets["training"], sets["evaluation"]
    src = session.onnx_path
    torch_factory = torch_model_factory(session.torch_spec(), session.folder)  # type: ignore[arg-type]
    calib = LabelledData(inputs=sets["calibration"].inputs, labels=sets["calibration"].labels)  # type: ignore[union-attr]
    trainset = LabelledData(inputs=train.inputs, labels=train.labels)  # type: ignore[union-attr]
    val = LabelledData(inputs=evaluation.inputs, labels=evaluation.labels)  # type: ignore[union-attr]
    ref = run_batches(make_session(src), evaluation.inputs)[0].argmax(1)  # type: ignore[union-attr]

    def quality(path: Path) -> dict[str, float]:
        pred = run_batches(make_session(path), evaluation.inputs)[0].argmax(1)  # type: ignore[union-attr]
        return {"accuracy": float(np.mean(pred == evaluation.labels)), "agreement": float(np.mean(pred == ref))}  # type: ignore[union-attr]

    feeds = [{"x": calib.inputs["x"][i : i + 1]} for i in range(100)]
    cands = [Candidate("fp32 (original)", src, 0.0)]
    for name, fn in (
        ("ORT fp16 (plain script)", lambda: ort_default_fp16(src, work / "p_fp16.onnx")),
        ("ORT quantize_dynamic defaults", lambda: ort_default_dynamic(src, work / "p_dyn.onnx")),
        ("ORT quantize_static defaults", lambda: ort_default_static(src, work / "p_stat.onnx", feeds)),
    ):
        p, s = timed(fn)
        cands.append(Candidate(name, p, s))

    def ctx(tag: str) -> TechniqueContext:
        out = work / tag
        out.mkdir(exist_ok=True)
        return TechniqueContext(
            onnx_path=src,
            out_dir=out,
            calibration=calib,
            train=trainset,
            validation=val,
            torch_model=torch_factory,
            seed=0,
        )

    plan: list[tuple[str, str, dict[str, Any]]] = [
        ("Shrinkwise fp16", "fp16", {}),
        ("Shrinkwise int8_dynamic", "int8_dynamic", {}),
        ("Shrinkwise int8_static", "int8_static", {}),
        ("Shrinkwise int8_storage (float32 at run time)", "int8_storage", {}),
        ("Shrinkwise int4_weight_only", "int4_weight_only", {}),
        ("Shrinkwise palettize 4-bit", "palettize", {}),
        ("Shrinkwise prune_unstructured 50%", "prune_unstructured", {}),
    ]
    if not quick:
        plan.append(("Shrinkwise prune_structured", "prune_structured", {}))
    for name, tech, settings in plan:
        try:
            p, s, note, enc = run_technique(tech, ctx(tech), **settings)
            cands.append(Candidate(name, p, s, note, enc))
        except Exception as exc:  # a bench reports failures instead of stopping
            print(f"  {name}: FAILED {exc}", file=sys.stderr)
    return cands, quality, {"x": evaluation.inputs["x"][:1]}  # type: ignore[union-attr]


def minilm_candidates(
    work: Path, quick: bool
) -> tuple[list[Candidate], Callable[[Path], dict[str, float]], dict[str, np.ndarray]]:
    from bench import minilm

    src, export_s = timed(lambda: minilm.export(work / "minilm.onnx"))
    eval_feeds = minilm.tokenize(minilm.sentences(100 if quick else 300, seed=1))
    calib_feeds = minilm.tokenize(minilm.sentences(100, seed=2))
    ref = minilm.embed(make_session(src), eval_feeds)

    def quality(path: Path) -> dict[str, float]:
        emb = minilm.embed(make_session(path), eval_feeds)
        cos = np.sum(emb * ref, axis=1)
        return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min())}

    # Calibration as one padded batch per sentence is not stackable; techniques take per-sample arrays, so pad to
    # the longest calibration sentence with attention_mask 0 (what a batched production input looks like).
    longest = max(f["input_ids"].shape[1] for f in calib_feeds)
    padded = {
        k: np.concatenate([np.pad(f[k], ((0, 0), (0, longest - f[k].shape[1]))) for f in calib_feeds])
        for k in minilm.INPUTS
    }
    calib = LabelledData(inputs=padded)
    cands = [Candidate("fp32 (original)", src, export_s)]
    for name, fn in (
        ("ORT fp16 (plain script)", lambda: ort_default_fp16(src, work / "p_fp16.onnx")),
        ("ORT quantize_dynamic defaults", lambda: ort_default_dynamic(src, work / "p_dyn.onnx")),
        ("ORT quantize_static defaults", lambda: ort_default_static(src, work / "p_stat.onnx", calib_feeds)),
    ):
        p, s = timed(fn)
        cands.append(Candidate(name, p, s))
    for name, tech in (
        ("Shrinkwise fp16", "fp16"),
        ("Shrinkwise int8_dynamic", "int8_dynamic"),
        ("Shrinkwise int8_static", "int8_static"),
        ("Shrinkwise int8_storage (float32 at run time)", "int8_storage"),
        ("Shrinkwise int4_weight_only", "int4_weight_only"),
        ("Shrinkwise palettize 4-bit", "palettize"),
    ):
        out = work / tech
        out.mkdir(exist_ok=True)
        try:
            p, s, note, enc = run_technique(
                tech, TechniqueContext(onnx_path=src, out_dir=out, calibration=calib, seed=0)
            )
            cands.append(Candidate(name, p, s, note, enc))
        except Exception as exc:
            print(f"  {name}: FAILED {exc}", file=sys.stderr)
    median = sorted(eval_feeds, key=lambda f: f["input_ids"].shape[1])[len(eval_feeds) // 2]
    return cands, quality, median


def bench_model(
    label: str,
    cands: list[Candidate],
    quality: Callable[[Path], dict[str, float]],
    feed: dict[str, np.ndarray],
    quick: bool,
) -> list[dict[str, Any]]:
    for c in cands:
        c.quality = quality(c.path)
    paths = {c.name: c.path for c in cands}
    for threads in (1, 2):
        res = measure_latency(
            paths,
            feed,
            threads=threads,
            reference=cands[0].name,
            rounds=8 if quick else 20,
            runs_per_round=13,
            max_seconds=30 if quick else 240,
        )
        for c in cands:
            c.latency[threads] = res[c.name]
    size0 = cands[0].path.stat().st_size
    rows = []
    print(f"\n## {label}\n")
    qkeys = list(cands[0].quality)
    print(
        "| candidate | size KiB | size ratio | encoded ratio | 1t ms median / p90 | lat ratio 1t [IQR] | lat ratio 2t [IQR] | "
        + " | ".join(qkeys)
        + " | build s | note |"
    )
    print("|---|---|---|---|---|---|---|" + "---|" * len(qkeys) + "---|---|")
    for c in cands:
        l1, l2 = c.latency[1], c.latency[2]
        iqr = lambda l: f"[{l.ratio_iqr[0]:.2f}–{l.ratio_iqr[1]:.2f}]" if l.ratio_iqr else ""  # noqa: E731
        size = c.path.stat().st_size
        q = " | ".join(f"{c.quality[k]:.4f}" for k in qkeys)
        enc = f"{c.encoded_bytes / size0:.3f} (estimate of an n-bit/sparse encoding)" if c.encoded_bytes else "—"
        print(
            f"| {c.name} | {size / 1024:,.1f} | {size / size0:.3f} | {enc} | {l1.median_ms:.3f} / {l1.p90_ms:.3f} | {l1.ratio_to_reference:.2f} {iqr(l1)} | {l2.ratio_to_reference:.2f} {iqr(l2)} | {q} | {c.build_s:.2f} | {c.note} |"
        )
        rows.append(
            {
                "model": label,
                "candidate": c.name,
                "size_bytes": size,
                "size_ratio": size / size0,
                "encoded_size_bytes": c.encoded_bytes,
                "latency": {
                    t: {
                        "median_ms": c.latency[t].median_ms,
                        "p90_ms": c.latency[t].p90_ms,
                        "ratio": c.latency[t].ratio_to_reference,
                        "ratio_iqr": c.latency[t].ratio_iqr,
                    }
                    for t in (1, 2)
                },
                "quality": c.quality,
                "build_s": c.build_s,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="demo,minilm")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sentences (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write raw results here")
    args = parser.parse_args()
    import onnxruntime as ort
    import torch

    print(
        f"onnxruntime {ort.__version__}, torch {torch.__version__}, numpy {np.__version__}; CPUExecutionProvider, batch 1"
    )
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="shrinkwise-bench-"))
    home = Path.cwd()
    json_out = args.json.resolve() if args.json else None
    os.chdir(work)  # the plain-script baselines let ORT drop temp files into the cwd; keep them in the work folder
    try:
        for model in args.models.split(","):
            t0 = time.perf_counter()
            (work / model).mkdir()
            if model == "demo":
                cands, quality, feed = demo_candidates(work / model, args.quick)
                rows += bench_model(
                    "Demo digits CNN (held-out accuracy, agreement with fp32)", cands, quality, feed, args.quick
                )
            elif model == "minilm":
                cands, quality, feed = minilm_candidates(work / model, args.quick)
                rows += bench_model(
                    "MiniLM-L6 (cosine of sentence embeddings to fp32)", cands, quality, feed, args.quick
                )
            else:
                raise SystemExit(f"unknown model {model}")
            print(f"\n({model}: {time.perf_counter() - t0:.0f} s)")
    finally:
        os.chdir(home)
        shutil.rmtree(work, ignore_errors=True)
    if json_out:
        json_out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
