"""The autopilot, with no option set by hand, against the peers' defaults on MiniLM-L6 and the demo digits CNN.

For each model: a project made as a newcomer makes it (model, data, target "this computer", a budget relative to the
original as measured here), `run_autopilot` climbs the ladder on it, and its final candidate is timed in one
interleaved run (bench_techniques' timing) beside ONNX Runtime's `quantize_dynamic` / `quantize_static` defaults and
NNCF (default preset; on MiniLM the TRANSFORMER preset too). The budget is then checked on those numbers. MiniLM also
prints the time to first advice (load + profile + advise; the target is 3 s).

Budgets (issue 11): MiniLM "size <= original/5, latency <= original/3, cosine >= 0.99" (mean-pooled, normalised
sentence embeddings, the model as sentence-transformers ships it); demo CNN "size <= original/3.5, accuracy drop
<= 0.5 pt, latency <= original".

    .venv/bin/python -m bench.bench_autopilot                    # both models (MiniLM needs the 'bench' extra)
    .venv/bin/python -m bench.bench_autopilot --models demo --time-budget 300 --quick
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

from bench.bench_techniques import Candidate, bench_model, ort_default_dynamic, ort_default_static, timed
from shrinkwise.compression.measure.runtime import make_session, run_batches
from shrinkwise.workspace.session import Session

THIS_COMPUTER = "this-computer"


@dataclass
class Budget:
    """What "done" means for one model, as factors of the original (turned into a project budget once measured)."""

    smaller: float
    faster: float
    quality: dict[str, float]  # Session.set_budget fields: min_cosine or accuracy_drop_pts

    def text(self) -> str:
        q = ", ".join(f"{k} {v:g}" for k, v in self.quality.items())
        return f"size <= original/{self.smaller:g}, latency <= original/{self.faster:g}, {q}"


@dataclass
class Workload:
    label: str
    session: Session
    budget: Budget
    quality: Callable[[Path], dict[str, float]]  # the bench's own quality numbers for any candidate file
    feed: dict[str, np.ndarray]  # the batch-1 input every candidate is timed on
    calib_feeds: list[dict[str, np.ndarray]]  # for the peers' static quantizers
    transformer: bool
    first_advice: dict[str, float] = field(default_factory=dict)


# --- the peers -------------------------------------------------------------------------------------------------------


def nncf_unavailable() -> str | None:
    """Why NNCF cannot run here, or None."""
    try:
        import nncf  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a bench says why and goes on
        return f"NNCF is not installed or does not import ({type(exc).__name__}: {exc}); `pip install nncf`"
    return None


def nncf_quantize(src: Path, out: Path, feeds: list[dict[str, np.ndarray]], transformer: bool) -> Path:
    """NNCF post-training quantization of the ONNX model (static int8 QDQ) with its defaults, or the TRANSFORMER
    preset (model_type), calibrated on the same feeds as ORT's quantize_static."""
    import nncf
    import onnx

    kwargs: dict[str, Any] = {"model_type": nncf.ModelType.TRANSFORMER} if transformer else {}
    quantized = nncf.quantize(onnx.load(str(src)), nncf.Dataset(feeds), subset_size=len(feeds), **kwargs)
    onnx.save(quantized, str(out))
    return out


def peer_candidates(w: Workload, work: Path) -> list[Candidate]:
    src = w.session.onnx_path
    plan: list[tuple[str, Callable[[], Path]]] = [
        ("ORT quantize_dynamic defaults", lambda: ort_default_dynamic(src, work / "ort_dynamic.onnx")),
        ("ORT quantize_static defaults", lambda: ort_default_static(src, work / "ort_static.onnx", w.calib_feeds)),
    ]
    why_not = nncf_unavailable()
    if why_not:
        print(f"  NNCF skipped: {why_not}")
    else:
        plan.append(("NNCF default", lambda: nncf_quantize(src, work / "nncf.onnx", w.calib_feeds, False)))
        if w.transformer:
            plan.append(
                ("NNCF TRANSFORMER preset", lambda: nncf_quantize(src, work / "nncf_tr.onnx", w.calib_feeds, True))
            )
    out = []
    for name, fn in plan:
        try:
            path, seconds = timed(fn)
            out.append(Candidate(name, path, seconds))
        except Exception as exc:  # noqa: BLE001 - a bench reports failures instead of stopping
            print(f"  {name}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr)
    return out


# --- the models, as projects -----------------------------------------------------------------------------------------


def minilm_workload(work: Path, quick: bool) -> Workload:
    from bench import minilm

    src = minilm.export(work / "export" / "all-MiniLM-L6-v2.onnx", pooled=True)
    eval_feeds = minilm.tokenize(minilm.sentences(100 if quick else 300, seed=1))
    calib_feeds = minilm.tokenize(minilm.sentences(100, seed=2))
    data = work / "data"
    data.mkdir()
    np.savez(data / "eval.npz", **minilm.padded(eval_feeds))  # type: ignore[arg-type]
    np.savez(data / "calibration.npz", **minilm.padded(calib_feeds))  # type: ignore[arg-type]

    session, t = time_first_advice(work / "project" / "minilm.shrinkwise.json", src, data)

    ref = minilm_embed(make_session(src), eval_feeds)

    def quality(path: Path) -> dict[str, float]:
        cos = np.sum(minilm_embed(make_session(path), eval_feeds) * ref, axis=1)
        return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min())}

    median = sorted(eval_feeds, key=lambda f: f["input_ids"].shape[1])[len(eval_feeds) // 2]
    return Workload(
        "MiniLM-L6 sentence embeddings (cosine to fp32 over the eval sentences, batch 1 unpadded)",
        session,
        Budget(smaller=5.0, faster=3.0, quality={"min_cosine": 0.99}),
        quality,
        median,
        calib_feeds,
        transformer=True,
        first_advice=t,
    )


def time_first_advice(project: Path, src: Path, data: Path) -> tuple[Session, dict[str, float]]:
    """Time to first advice: what a newcomer waits for after choosing the model and data files (a new project, the
    model attached, `data`/eval.npz and calibration.npz added, profiled, target "this computer", advised). Prints
    the line the benchmark shows; `bench.bench_first_advice` repeats it in fresh processes."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    session = Session.create(project, name="MiniLM-L6", overwrite=True)
    session.attach_model(src)
    t["load_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    session.add_data(data / "eval.npz", role="evaluation")
    session.add_data(data / "calibration.npz", role="calibration")
    t["data_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    session.profile()
    t["profile_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    session.set_target(THIS_COMPUTER)
    advice = session.advise()
    t["advise_s"] = time.perf_counter() - t1
    t["total_s"] = time.perf_counter() - t0
    first = advice.plan[0] if advice.plan else None
    print(
        f"  first advice in {t['total_s']:.2f} s (load {t['load_s']:.2f}, data {t['data_s']:.2f}, profile "
        f"{t['profile_s']:.2f}, advise {t['advise_s']:.2f}; target <= 3 s): "
        + (f"step 1 = {first.name} {first.technique or first.activity} {first.config}" if first else "no plan"),
        flush=True,
    )
    return session, t


def minilm_embed(session: Any, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
    """The pooled model's unit-length sentence embeddings, one sentence per call."""
    return np.concatenate([session.run(None, f)[0].astype(np.float64) for f in feeds])


def demo_workload(work: Path, quick: bool) -> Workload:
    from shrinkwise.workspace.demo import build_demo

    session = build_demo(work / "project", measure=False)
    session.set_target(THIS_COMPUTER)
    sets = session.datasets()
    evaluation, calib = sets["evaluation"], sets["calibration"]
    assert evaluation is not None and calib is not None and evaluation.labels is not None
    ref = run_batches(make_session(session.onnx_path), evaluation.inputs)[0].argmax(1)

    def quality(path: Path) -> dict[str, float]:
        pred = run_batches(make_session(path), evaluation.inputs)[0].argmax(1)
        return {"accuracy": float(np.mean(pred == evaluation.labels)), "agreement": float(np.mean(pred == ref))}

    return Workload(
        "Demo digits CNN (held-out accuracy, agreement with fp32)",
        session,
        Budget(smaller=3.5, faster=1.0, quality={"accuracy_drop_pts": 0.5}),
        quality,
        {"x": evaluation.inputs["x"][:1]},
        [{"x": calib.inputs["x"][i : i + 1]} for i in range(min(100, len(calib)))],
        transformer=False,
    )


# --- the autopilot -----------------------------------------------------------------------------------------------------


def load_autopilot() -> tuple[Callable[..., Any] | None, str]:
    """`run_autopilot(session, time_budget_s, on_event=None) -> Journal`, or None and why.

    HOOK: the autopilot lands in shrinkwise/workspace/autopilot.py; until it does the bench still times the peers
    and prints this reason instead of an autopilot row."""
    try:
        from shrinkwise.workspace.autopilot import run_autopilot
    except ImportError as exc:
        return None, f"the autopilot is not available in this checkout ({exc})"
    return run_autopilot, ""


def run_autopilot_on(w: Workload, time_budget_s: float) -> tuple[Candidate | None, Any]:
    """Climb with no option set by hand; the final candidate's file, and the journal (printed rung by rung)."""
    run_autopilot, why = load_autopilot()
    if run_autopilot is None:
        print(f"  AUTOPILOT NOT RUN: {why}")
        return None, None

    def on_event(event: Any) -> None:  # rung started / finished and the end; a run's own events are not printed
        if getattr(event, "kind", "") != "run_event":
            print(f"    · {event.text}", file=sys.stderr)

    t0 = time.perf_counter()
    journal = run_autopilot(w.session, time_budget_s=time_budget_s, on_event=on_event)
    seconds = time.perf_counter() - t0
    print(
        f"  autopilot: {len(journal.rungs)} rung(s) in {seconds:.0f} s, {journal.status_text}; "
        f"stopped because: {journal.stopped_because}"
    )
    for r in journal.rungs:
        f = r.figures
        figures = ", ".join(
            s
            for s in (
                f"{f.size_ratio:.2f}x smaller" if f.size_ratio else "",
                f"{f.speedup:.2f}x faster" if f.speedup else "",
                f"{f.quality_metric} {f.quality:.4f}" if f.quality is not None else "",
            )
            if s
        )
        what = r.technique or r.action
        print(f"   {r.index}. [{r.status}] {r.title or what} {r.config or ''} ({r.experiment or '-'})")
        print(f"      why: {r.why}")
        print(f"      measured: {figures or '-'}; verdict: {r.verdict or '-'}; next: {r.next or '-'}")
    if journal.final is None:
        print("  autopilot ended without a candidate")
        return None, journal
    exp = next(e for e in w.session.project.experiments if e.id == journal.final)
    art = exp.final_artifact
    assert art is not None, f"final candidate {exp.id} has no artifact"
    recipe = " + ".join(step_text(s.technique, s.config) for s in exp.recipe)
    return Candidate(f"Shrinkwise autopilot: {recipe}", w.session.resolve(art.path), seconds), journal


def step_text(technique: str, config: Any) -> str:
    """`int8_dynamic per_channel=True embedding_bits=4`: the technique and the settings that differ from its
    defaults (what the autopilot chose)."""
    from shrinkwise.compression.catalog import technique_module

    values = config if isinstance(config, dict) else config.model_dump(mode="json")
    defaults = technique_module(technique).Config().model_dump(mode="json")
    chosen = [f"{k}={v}" for k, v in values.items() if k not in ("technique", "version") and defaults.get(k) != v]
    return " ".join([technique, *chosen])


# --- one model -----------------------------------------------------------------------------------------------------------


def budget_verdict(w: Workload, row: dict[str, Any], fp32_row: dict[str, Any]) -> str:
    """The budget checked on the benchmark's own numbers (1 thread), each part with its figure."""
    parts = []
    smaller = 1.0 / row["size_ratio"]
    parts.append(
        f"{smaller:.2f}x smaller {'OK' if smaller >= w.budget.smaller else 'MISSED'} (>= {w.budget.smaller:g})"
    )
    from shrinkwise.advisor.situation import SPEED_TIE

    # The decision's own rule: a speed-up within the timing noise of its budget counts as met.
    ratio, limit = row["latency"][1]["ratio"], 1.0 / (w.budget.faster * (1.0 - SPEED_TIE))
    parts.append(f"latency {ratio:.2f}x the original's {'OK' if ratio <= limit else 'MISSED'} (<= {limit:.2f})")
    q = row["quality"]
    if "min_cosine" in w.budget.quality:
        tol = w.budget.quality["min_cosine"]
        parts.append(f"cos mean {q['cos_mean']:.4f} {'OK' if q['cos_mean'] >= tol else 'MISSED'} (>= {tol:g})")
    if "accuracy_drop_pts" in w.budget.quality:
        tol = w.budget.quality["accuracy_drop_pts"]
        drop = 100 * (fp32_row["quality"]["accuracy"] - q["accuracy"])
        parts.append(f"accuracy drop {drop:.2f} pt {'OK' if drop <= tol else 'MISSED'} (<= {tol:g})")
    return "; ".join(parts)


def bench_workload(w: Workload, work: Path, time_budget_s: float | None, quick: bool) -> list[dict[str, Any]]:
    """Budget from the measured original, the peers, the autopilot (unless `time_budget_s` is None), one timing."""
    from shrinkwise.workspace.runs import ensure_baseline

    session = w.session
    ensure_baseline(session)
    session.set_budget(**session.relative_budget(smaller=w.budget.smaller, faster=w.budget.faster), **w.budget.quality)
    session.save()
    print(f"  budget: {w.budget.text()} -> {session.project.budget.model_dump(exclude_none=True)}")
    cands = [Candidate("fp32 (original)", session.onnx_path, 0.0)]
    cands += peer_candidates(w, work)
    auto, journal = run_autopilot_on(w, time_budget_s) if time_budget_s is not None else (None, None)
    if auto is not None:
        cands.append(auto)
    rows = bench_model(w.label, cands, w.quality, w.feed, quick)
    print()
    for row in rows[1:]:
        print(f"  {row['candidate']}: {budget_verdict(w, row, rows[0])}")
    for row in rows:
        row["budget"] = w.budget.text()
        if w.first_advice:
            row["first_advice"] = w.first_advice
    if journal is not None:
        rows.append({"model": w.label, "journal": journal.model_dump(mode="json")})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="minilm,demo")
    parser.add_argument("--time-budget", type=float, default=600.0, help="autopilot time budget per model, seconds")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sentences (a smoke run)")
    parser.add_argument("--no-autopilot", action="store_true", help="time the peers only (the harness by itself)")
    parser.add_argument("--json", type=Path, help="also write raw results (and the journals) here")
    args = parser.parse_args()
    import onnxruntime as ort
    import torch

    why_not = nncf_unavailable()
    nncf_text = "NNCF: " + (why_not or __import__("nncf").__version__)
    print(f"onnxruntime {ort.__version__}, torch {torch.__version__}, {nncf_text}; CPUExecutionProvider, batch 1")
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="shrinkwise-bench-autopilot-"))
    home = Path.cwd()
    json_out = args.json.resolve() if args.json else None
    os.chdir(work)  # the plain-script baselines let ORT drop temp files into the cwd; keep them in the work folder
    try:
        for model in args.models.split(","):
            t0 = time.perf_counter()
            folder = work / model
            folder.mkdir()
            print(f"\n# {model}")
            if model == "minilm":
                w = minilm_workload(folder, args.quick)
            elif model == "demo":
                w = demo_workload(folder, args.quick)
            else:
                raise SystemExit(f"unknown model {model}")
            rows += bench_workload(w, folder, None if args.no_autopilot else args.time_budget, args.quick)
            print(f"\n({model}: {time.perf_counter() - t0:.0f} s)")
    finally:
        os.chdir(home)
        shutil.rmtree(work, ignore_errors=True)
    if json_out:
        json_out.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
