"""Run commands: techniques, run, recipe, sweep, sensitivity, results.

Progress: a one-line bar redrawn with \\r on a terminal, plain lines otherwise (logs, CI). Ctrl-C cancels the
worker cleanly; the experiment is recorded as cancelled and the command exits with 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from shrinkwise.compression.errors import ShrinkwiseError


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


class Progress:
    """Turns worker events into terminal output."""

    def __init__(self, stream: Any = None, prefix: str = "") -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.prefix = prefix
        self.last_message = ""
        self.last_draw = 0.0
        self.width = 0

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "kind", "")
        if kind == "progress":
            if self.tty:
                now = time.monotonic()
                if now - self.last_draw < 0.05 and event.fraction < 1.0:
                    return
                self.last_draw = now
                filled = int(round(event.fraction * 24))
                line = (
                    f"{self.prefix}[{'#' * filled}{'.' * (24 - filled)}] {event.fraction * 100:3.0f}% {event.message}"[
                        :110
                    ]
                )
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
                self.stream.flush()
            elif event.message and event.message.split(":")[0] != self.last_message:
                # Plain output (logs, CI): one line per phase, not one per progress tick.
                self.last_message = event.message.split(":")[0]
                print(f"{self.prefix}{event.fraction * 100:3.0f}% {event.message}", file=self.stream, flush=True)
        elif kind == "log" and event.level in ("warning", "error"):
            self.clear()
            print(f"{self.prefix}{event.level}: {event.text}", file=self.stream, flush=True)

    def clear(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _fmt_bytes(v: float | None) -> str:
    return "-" if v is None else f"{v / 1024:.1f} KiB"


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_experiment(exp: Any) -> None:
    from shrinkwise.workspace.runs import quality_metric

    if exp.status != "finished":
        print(f"{exp.id} {exp.label}: {exp.status}" + (f" — {exp.error}" if exp.error else ""))
        return
    values = {m.metric: m.value for m in exp.measurements}
    q = quality_metric(exp.measurements)
    quality = f", {q[0]} {q[1]:.4f}" if q else ""
    ratio = values.get("latency_ratio")
    print(
        f"{exp.id} {exp.label}: finished — size {_fmt_bytes(values.get('size_bytes'))}, latency {_fmt(values.get('latency_ms_median'), '.4f')} ms"
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
        print(json.dumps(catalog, indent=2))
        return 0
    for tid, entry in catalog.items():
        needs = [k for k, v in entry.get("needs", {}).items() if v]
        print(f"{tid:20} {entry.get('title', '')}" + (f"  (needs: {', '.join(needs)})" if needs else ""))
    return 0


def _run_steps(args: argparse.Namespace, steps: list[Any], label: str | None = None) -> int:
    from shrinkwise.workspace.runs import run_recipe

    session = _open(args.project)
    progress = Progress()
    try:
        exp = run_recipe(session, steps, label=label, on_event=progress, time_limit_s=args.time_limit)
    except KeyboardInterrupt:
        progress.clear()
        print("cancelled; the run is recorded as cancelled", file=sys.stderr)
        raise
    progress.clear()
    print_experiment(exp)
    return _exit_code([exp])


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
    from shrinkwise.workspace.runs import sweep

    key, sep, values_text = args.over.partition("=")
    if not sep or not key or not values_text:
        raise ShrinkwiseError(
            f"--over '{args.over}' is not key=v1,v2,...", fix="e.g. --over calibration_samples=64,128,256"
        )
    values = [parse_value(v.strip()) for v in values_text.split(",") if v.strip()]
    session = _open(args.project)
    progress = Progress()
    n = len(values)

    def on_event(i: int, ev: Any) -> None:
        progress.prefix = f"[{i + 1}/{n}] "
        progress(ev)

    try:
        exps = sweep(
            session,
            args.technique,
            key.strip(),
            values,
            base_config=parse_set(args.set),
            on_event=on_event,
            time_limit_s=args.time_limit,
        )
    except KeyboardInterrupt:
        progress.clear()
        print("cancelled; the current run is recorded as cancelled", file=sys.stderr)
        raise
    progress.clear()
    for e in exps:
        print_experiment(e)
    return _exit_code(exps)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.runs import sensitivity

    session = _open(args.project)
    progress = Progress()
    try:
        exp = sensitivity(session, args.tolerance, technique=args.technique, on_event=progress)
    except KeyboardInterrupt:
        progress.clear()
        raise
    progress.clear()
    if exp.status != "finished":
        print_experiment(exp)
        return 1
    x = exp.extra
    print(
        f"{exp.id}: {x['technique']} one layer at a time; metric {x['metric']} (original {x['original_quality']:.4f}), "
        f"all quantized: drop {x['all_quantized']['drop']:+.4f}"
    )
    print(
        f"{'layer':36} {'op':6} {'drop alone':>10} {'recovery':>9} {'SQNR dB':>8} {'act SQNR':>8} {'w SQNR':>7} {'float cost':>11} {'latency cost':>12}"
    )
    for r in x["ranking"]:
        print(
            f"{r['node'][:36]:36} {r['op_type'][:6]:6} {r['drop_alone']:>+10.4f} {r['recovery']:>+9.4f} {_fmt(r['sqnr_alone_db'], '.1f'):>8} "
            f"{_fmt(r.get('activation_sqnr_db'), '.1f'):>8} {_fmt(r.get('weight_sqnr_db'), '.1f'):>7} "
            f"{_fmt_bytes(r['size_cost_bytes']):>11} {_fmt(r['latency_cost_ms'], '+.4f'):>9} ms"
        )
    le = x.get("layer_error") or {}
    if le.get("reason"):
        print(f"per-layer SQNR (ONNX Runtime QDQ debugging): {le['reason']}")
    elif le.get("layers"):
        print(
            f"act SQNR: float vs all-quantized activation at the layer's output; w SQNR: its weight (dB, higher is "
            f"closer; {le.get('samples', 0)} evaluation samples)"
        )
    p = x["proposal"]
    keep = ", ".join(p["keep_float"]) or "none"
    verdict = "meets" if p["meets_tolerance"] else "does NOT meet"
    print(
        f"proposal: keep in float: {keep} -> {x['metric']} {p['quality']:.4f} (drop {p['drop']:+.4f}, {verdict} tolerance {x['tolerance']:g}), "
        f"size {_fmt_bytes(p['size_bytes'])}"
    )
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.runs import results

    session = _open(args.project)
    rows = results(session)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no finished candidates yet; measure the original with 'shrinkwise measure' and run a technique")
        return 0
    metric = rows[0]["quality_metric"] or "quality"
    print(
        f"{'candidate':34} {'size':>10} {'lat med ms':>10} {'p90 ms':>8} {'x orig':>6} {metric[:10]:>10} {'worst class Δ':>13}  pareto"
    )
    for r in rows:
        deltas = r["per_class_delta"]
        worst = min(deltas.items(), key=lambda kv: kv[1]) if deltas else None
        worst_text = f"{worst[1]:+.3f} ({worst[0]})" if worst else "-"
        front = (
            ",".join(name for name, on in (("size", r["pareto_size"]), ("latency", r["pareto_latency"])) if on) or "-"
        )
        print(
            f"{r['label'][:34]:34} {_fmt_bytes(r['size_bytes']):>10} {_fmt(r['latency_ms_median'], '.4f'):>10} {_fmt(r['latency_ms_p90'], '.4f'):>8} "
            f"{_fmt(r['latency_ratio'], '.2f'):>6} {_fmt(r['quality'], '.4f'):>10} {worst_text:>13}  {front}"
        )
    print(
        "pareto: on the front for size vs quality / latency vs quality (latency = paired ratio x the original's median)"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("techniques", help="list the compression techniques (the capability manifest)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_techniques)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--set", action="append", metavar="KEY=VALUE", help="a setting (value parsed as JSON when possible)"
        )
        p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop a run that takes longer than this")

    p = sub.add_parser("run", help="run one technique on the project's model, measure and record it")
    p.add_argument("project", type=Path)
    p.add_argument("technique")
    common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("recipe", help="run techniques in sequence (each works on the previous output)")
    p.add_argument("project", type=Path)
    p.add_argument("steps", nargs="+", metavar="TECHNIQUE")
    common(p)
    p.set_defaults(func=cmd_recipe)

    p = sub.add_parser("sweep", help="one run per value of a setting (or --over technique=a,b,c for a ladder)")
    p.add_argument("project", type=Path)
    p.add_argument("technique")
    p.add_argument("--over", required=True, metavar="KEY=V1,V2,...")
    common(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("sensitivity", help="per-layer quantization sensitivity and which layers to keep in float")
    p.add_argument("project", type=Path)
    p.add_argument("--tolerance", type=float, default=0.01, help="allowed quality drop (0.01 = one accuracy point)")
    p.add_argument("--technique", choices=["int8_static", "int8_dynamic"], default="int8_static")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("results", help="all finished candidates with size, latency, quality and the Pareto front")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_results)
