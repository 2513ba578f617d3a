"""Run commands: techniques, run, recipe, sweep, sensitivity, results.

Progress goes to stderr (`cli.progress`): a bar with time left on a terminal, a line every 10 % elsewhere (logs,
CI). Ctrl-C cancels the worker cleanly; the experiment is recorded as cancelled and the command exits with 130.
Tolerances are in percentage points of the quality metric everywhere, like the budget's --accuracy-drop-pts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.workspace.cli.output import print_json, print_table
from shrinkwise.workspace.cli.progress import Progress
from shrinkwise.workspace.units import fmt_bytes, fmt_ms

PROJECT_HELP = "the project: a .shrinkwise.json file, or the folder holding one"
# The quality metric a run is judged on, best first (accuracy needs labels); runs.py picks it the same way.


def parse_value(text: str) -> Any:
    """JSON where it parses (numbers, true, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_set(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ShrinkwiseError(f"--set '{item}' is not key=value", fix="e.g. --set per_channel=true")
        out[key.strip()] = parse_value(value)
    return out


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_experiment(exp: Any) -> None:
    if exp.status != "finished":
        print(f"{exp.id} {exp.label}: {exp.status}" + (f" — {exp.error}" if exp.error else ""))
        return
    from shrinkwise.workspace.figures import quality_metric

    def value(metric: str | None) -> float | None:
        m = exp.measurement(metric) if metric else None
        return None if m is None else m.value

    metric = quality_metric(exp.measurements)
    quality = f", {metric} {value(metric):.4f}" if metric else ""
    ratio = value("latency_ratio")
    print(
        f"{exp.id} {exp.label}: finished — size {fmt_bytes(value('size_bytes'))}, latency {fmt_ms(value('latency_ms_median'))}"
        + (f" ({ratio:.2f}x the original, timed interleaved)" if ratio else "")
        + quality
    )


def _open(path: Path):  # type: ignore[no-untyped-def]
    from shrinkwise.workspace.session import Session

    return Session.open(path)


def _exit_code(exps: list[Any]) -> int:
    return 0 if all(e.status == "finished" for e in exps) else 1


def cmd_techniques(args: argparse.Namespace) -> int:
    from shrinkwise.compression.catalog import load_catalog

    catalog = load_catalog()
    if args.json:
        print_json(catalog)
        return 0
    print_table(
        ["technique", "what it does", "needs"],
        (
            (tid, entry.get("title", ""), ", ".join(k for k, v in entry.get("needs", {}).items() if v) or None)
            for tid, entry in catalog.items()
        ),
    )
    return 0


def _run_steps(args: argparse.Namespace, steps: list[Any], label: str | None = None) -> int:
    from shrinkwise.compression.runner import memory_limit_from_gb
    from shrinkwise.workspace.runs import run_recipe

    session = _open(args.project)
    progress = _progress(args)
    try:
        exp = run_recipe(
            session,
            steps,
            label=label,
            on_event=progress,
            time_limit_s=args.time_limit,
            memory_limit_bytes=memory_limit_from_gb(args.memory_limit),
        )
    except KeyboardInterrupt:
        progress.clear()
        print("cancelled; the run is recorded as cancelled", file=sys.stderr)
        raise
    progress.clear()
    if args.json:
        print_json(exp)
    else:
        print_experiment(exp)
    return _exit_code([exp])


def _progress(args: argparse.Namespace) -> Progress:
    return Progress(quiet=args.quiet, verbose=args.verbose)


def _technique_list() -> str:
    from shrinkwise.compression.catalog import technique_ids  # the manifest only: no technique module is imported

    return ", ".join(technique_ids())


def cmd_run(args: argparse.Namespace) -> int:
    return _run_steps(args, [(args.technique, parse_set(args.set))])


def cmd_recipe(args: argparse.Namespace) -> int:
    configs: list[dict[str, Any]] = [{} for _ in args.steps]
    for key, value in parse_set(args.set).items():
        step, dot, name = key.partition(".")
        if not dot:
            raise ShrinkwiseError(
                f"--set '{key}' must name its step: STEP.key=value",
                fix="STEP is a technique id or its 1-based position, e.g. --set int8_static.per_channel=true",
            )
        idx = [i for i, t in enumerate(args.steps) if t == step or str(i + 1) == step]
        if not idx:
            raise ShrinkwiseError(
                f"--set '{key}': no step '{step}' in the recipe", fix=f"steps: {', '.join(args.steps)}"
            )
        configs[idx[0]][name] = value
    return _run_steps(args, list(zip(args.steps, configs, strict=False)))


def cmd_sweep(args: argparse.Namespace) -> int:
    from shrinkwise.compression.runner import memory_limit_from_gb
    from shrinkwise.workspace.runs import sweep

    key, sep, values_text = args.over.partition("=")
    key = key.strip()
    if not sep or not key or not values_text:
        raise ShrinkwiseError(
            f"--over '{args.over}' is not key=v1,v2,...", fix="e.g. --over calibration_samples=64,128,256"
        )
    values = [parse_value(v.strip()) for v in values_text.split(",") if v.strip()]
    technique = args.technique
    if key == "technique":
        if technique and not args.quiet:  # the ladder names every technique; a leading one would be ignored
            print(f"note: '{technique}' is ignored, --over technique=... lists the techniques", file=sys.stderr)
        technique = ""
    elif not technique:
        raise ShrinkwiseError(
            f"--over {key}=... needs the technique whose setting it sweeps",
            fix=f"e.g. 'shrinkwise sweep PROJECT int8_static --over {key}=...' (techniques: {_technique_list()})",
        )
    session = _open(args.project)
    progress = _progress(args)
    n = len(values)

    def on_event(i: int, ev: Any) -> None:
        progress.prefix = f"[{i + 1}/{n}] "
        progress(ev)

    try:
        exps = sweep(
            session,
            technique,
            key,
            values,
            base_config=parse_set(args.set),
            on_event=on_event,
            time_limit_s=args.time_limit,
            memory_limit_bytes=memory_limit_from_gb(args.memory_limit),
        )
    except KeyboardInterrupt:
        progress.clear()
        print("cancelled; the current run is recorded as cancelled", file=sys.stderr)
        raise
    progress.clear()
    if args.json:
        print_json([e.model_dump(mode="json") for e in exps])
        return _exit_code(exps)
    for e in exps:
        print_experiment(e)
    return _exit_code(exps)


def _tolerance_pts(args: argparse.Namespace) -> float:
    """--accuracy-drop-pts in points; the old --tolerance (a fraction) still works, with a note."""
    if args.tolerance_fraction is None:
        return float(args.accuracy_drop_pts)
    pts = args.tolerance_fraction * 100
    if not args.quiet:
        print(
            f"note: --tolerance (a fraction) is deprecated; use --accuracy-drop-pts {pts:g} (points, like 'budget')",
            file=sys.stderr,
        )
    return pts


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.runs import sensitivity

    pts = _tolerance_pts(args)
    session = _open(args.project)
    progress = _progress(args)
    try:
        exp = sensitivity(
            session, pts / 100.0, technique=args.technique, on_event=progress, config=parse_set(args.set) or None
        )
    except KeyboardInterrupt:
        progress.clear()
        raise
    progress.clear()
    if args.json:
        print_json(exp)
        return 0 if exp.status == "finished" else 1
    if exp.status != "finished":
        print_experiment(exp)
        return 1
    x = exp.sensitivity_result()
    assert x is not None  # a finished sensitivity experiment always has its result
    print(
        f"{exp.id}: {x.technique} one layer at a time; metric {x.metric} (original {x.original_quality:.4f}), "
        f"all quantized: drop {_pts(x.all_quantized.drop)}"
    )
    print_table(
        ["layer", "op", "drop alone>", "recovery>", "SQNR dB>", "act SQNR>", "w SQNR>", "float cost>", "latency cost>"],
        (
            (
                r.node,
                r.op_type,
                _pts(r.drop_alone),
                _pts(r.recovery),
                _fmt(r.sqnr_alone_db, ".1f"),
                _fmt(r.activation_sqnr_db, ".1f"),
                _fmt(r.weight_sqnr_db, ".1f"),
                fmt_bytes(r.size_cost_bytes),
                None if r.latency_cost_ms is None else f"{r.latency_cost_ms:+.4f} ms",
            )
            for r in x.ranking
        ),
    )
    le = x.layer_error
    if le is not None and le.reason:
        print(f"per-layer SQNR (ONNX Runtime QDQ debugging): {le.reason}")
    elif le is not None and le.layers:
        print(
            f"act SQNR: float vs all-quantized activation at the layer's output; w SQNR: its weight (dB, higher is "
            f"closer; {le.samples} evaluation samples)"
        )
    p = x.proposal
    keep = ", ".join(p.keep_float) or "none"
    verdict = "meets" if p.meets_tolerance else "does NOT meet"
    print(
        f"proposal: keep in float: {keep} -> {x.metric} {p.quality:.4f} (drop {_pts(p.drop)}, {verdict} the "
        f"tolerance of {x.tolerance * 100:g} pts), size {fmt_bytes(p.size_bytes)}"
    )
    return 0


def _pts(drop: float) -> str:
    """A drop of a 0-1 quality metric in percentage points: 0.0123 -> '+1.23 pts'."""
    return f"{drop * 100:+.2f} pts"


def cmd_results(args: argparse.Namespace) -> int:
    session = _open(args.project)
    rows = session.results()
    decision = session.recommendation()
    if args.json:
        out = {
            "recommendation": {**decision.model_dump(mode="json"), "paragraph": decision.paragraph},
            "candidates": [
                {
                    **r.model_dump(mode="json"),
                    "recommended": r.id == decision.candidate,
                    "misses_budget": decision.misses_budget(r.id),
                }
                for r in rows
            ],
        }
        print(json.dumps(out, indent=2))
        return 0
    if not rows:
        print("no finished candidates yet; measure the original with 'shrinkwise measure' and run a technique")
        return 0
    metric = rows[0].quality_metric or "quality"
    table = []
    for r in rows:
        deltas = r.per_class_delta
        worst = min(deltas.items(), key=lambda kv: kv[1]) if deltas else None
        front = ",".join(name for name, on in (("size", r.pareto_size), ("latency", r.pareto_latency)) if on) or "-"
        mark = "*" if r.id == decision.candidate else ("x" if decision.misses_budget(r.id) else "")
        table.append(
            [
                mark,
                r.label,  # whole: a long name (a sensitivity analysis, a recipe) is what tells candidates apart
                fmt_bytes(r.size_bytes),
                fmt_ms(r.latency_ms_median),
                fmt_ms(r.latency_ms_p90),
                _fmt(r.latency_ratio, ".2f"),
                _fmt(r.quality, ".4f"),
                f"{worst[1]:+.3f} ({worst[0]})" if worst else "-",
                front,
            ]
        )
    print_table(
        ["", "candidate", "size>", "latency>", "p90>", "x orig>", f"{metric}>", "worst class Δ>", "pareto"], table
    )
    print("* recommended, x misses a budget; pareto: on the front for size / latency (median) against quality")
    print()
    print(f"Recommendation: {decision.paragraph}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("techniques", help="list the compression techniques (the capability manifest)")
    p.set_defaults(func=cmd_techniques)
    techniques = _technique_list()

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="a setting, value parsed as JSON when possible (recipe: STEP.KEY=VALUE, STEP a technique id or its "
            "1-based position, e.g. 2.keep_io_types=true); a setting the technique does not have is refused",
        )
        p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop a run that takes longer than this")
        p.add_argument(
            "--memory-limit",
            type=float,
            metavar="GB",
            help="cap a run's memory (address space, Linux; default: this computer's RAM, or SHRINKWISE_MEMORY_LIMIT_GB"
            "; 0 = no limit)",
        )

    p = sub.add_parser("run", help="run one technique on the project's model, measure and record it")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("technique", help=f"one of: {techniques} (see 'shrinkwise techniques')")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("recipe", help="run techniques in sequence (each works on the previous output)")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("steps", nargs="+", metavar="TECHNIQUE", help=f"techniques in order, each of: {techniques}")
    common(p)
    p.set_defaults(func=cmd_recipe)

    p = sub.add_parser(
        "sweep",
        help="one run per value of a setting, or --over technique=a,b,c for a ladder of techniques",
        description="'sweep PROJECT int8_static --over calibration_samples=64,256' runs one technique per value; "
        "'sweep PROJECT --over technique=fp16,int8_static' runs each technique with its defaults.",
    )
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument(
        "technique", nargs="?", default="", help=f"whose setting to sweep (not with --over technique=...): {techniques}"
    )
    p.add_argument(
        "--over", required=True, metavar="KEY=V1,V2,...", help="the setting and its values, or technique=a,b,c"
    )
    common(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("sensitivity", help="per-layer quantization sensitivity and which layers to keep in float")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument(
        "--accuracy-drop-pts",
        type=float,
        default=1.0,
        metavar="PTS",
        help="allowed drop of the quality metric (accuracy, else agreement) in percentage points (default: 1)",
    )
    p.add_argument("--tolerance", dest="tolerance_fraction", type=float, help=argparse.SUPPRESS)  # old: a fraction
    p.add_argument(
        "--technique",
        choices=["int8_static", "int8_dynamic"],
        default="int8_static",
        help="the quantizer to test layer by layer (default: %(default)s)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a setting of the quantizer kept in every variant, e.g. per_channel=true (value parsed as JSON)",
    )
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("results", help="all finished candidates with size, latency, quality and the Pareto front")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_results)
