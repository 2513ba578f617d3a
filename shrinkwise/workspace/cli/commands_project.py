"""Project commands: new, demo, model, data, profile, measure, show, gui."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.workspace.cli.output import print_json, print_table
from shrinkwise.workspace.units import fmt_bytes

PROJECT_HELP = "the project: a .shrinkwise.json file, or the folder holding one"


def _kwargs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ShrinkwiseError(
            f"--arch-kwargs '{text}' is not JSON", fix="e.g. --arch-kwargs '{\"classes\": 10}'"
        ) from None
    if not isinstance(value, dict):
        raise ShrinkwiseError("--arch-kwargs must be a JSON object", fix="e.g. --arch-kwargs '{\"classes\": 10}'")
    return value


def _input_specs(shapes: list[str] | None):  # type: ignore[no-untyped-def]
    from shrinkwise.compression.intake import parse_input_shape

    return [parse_input_shape(s) for s in shapes] if shapes else None


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--architecture", help="for a state dict: path/to/file.py:ClassName")
    p.add_argument("--arch-kwargs", help="JSON object of constructor arguments for the architecture")
    p.add_argument(
        "--trust-architecture",
        action="store_true",
        help="confirm that the architecture file may run: it is Python code, run to export the model and when "
        "pruning or distillation train it; asked once per version of the file (its sha256 is recorded)",
    )
    p.add_argument(
        "--input-shape",
        action="append",
        metavar="NAME:D1,D2,...[:DTYPE]",
        help="override or give an input's shape (repeat per input)",
    )


def _attach(session, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The model options of `new` and `model`, the same for both (--trust-architecture included)."""
    return session.attach_model(
        args.model,
        args.architecture,
        _kwargs(args.arch_kwargs),
        _input_specs(args.input_shape),
        trusted=args.trust_architecture,
    )


def cmd_new(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.store import new_project

    notes: list[str] = []
    with new_project(args.project, name=args.name) as session:  # a failure leaves nothing behind
        if args.model:
            ref = _attach(session, args)
            notes = list(ref.notes)
        for data in args.data or []:
            session.add_data(data, role="all")
    if args.json:
        print_json({"project": str(session.path), "name": session.project.name})
        return 0
    print(f"created {session.path}")
    for note in notes:
        print(f"  note: {note}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    ref = _attach(session, args)
    if args.json:
        print_json(ref)
        return 0
    print(
        f"model {ref.path} ({ref.format}) -> {ref.onnx_path}; inputs: "
        + ", ".join(f"{s.name}{s.shape}:{s.dtype}" for s in ref.signature.inputs)
    )
    for note in ref.notes:
        print(f"  note: {note}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from shrinkwise.compression.io_spec import parse_input_decl, parse_task_decl
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    inputs = dict(parse_input_decl(t) for t in args.input or [])
    outputs = dict(parse_task_decl(t) for t in args.task or [])
    if inputs or outputs:
        session.declare_io(inputs, outputs)
        session.save()
    ref = session.add_data(args.data, role=args.role) if args.data else None
    if ref is None and not (inputs or outputs) and not session.project.data:
        raise ShrinkwiseError(
            "the project has no data yet", fix=f"give a data file: shrinkwise data {args.project} FILE"
        )
    tasks = session.output_tasks() if session.project.model is not None else []
    if args.json:
        print_json(
            {
                "data": ref.model_dump(mode="json") if ref else None,
                "io": session.project.io.model_dump(mode="json"),
                "outputs": [q.model_dump(mode="json") for q in tasks],
            }
        )
        return 0
    if ref is not None:
        print(f"data {ref.path} ({ref.kind}, {ref.samples} samples, role {ref.role})")
        for w in ref.health.warnings if ref.health else []:
            print(f"  {w.severity}: {w.message}")
    for q in tasks:
        mark = "declared" if q.declared else "inferred"
        print(f"  output {q.output}: {q.task} [{q.primary and 'headline, ' or ''}{mark}] — {q.reason}")
    if inputs or outputs:
        print("  the baseline will be measured again with this data spec before the next run")
    return 0


def _print_profile(prof) -> None:  # type: ignore[no-untyped-def]
    print(f"file {fmt_bytes(prof.file_bytes)}, {prof.parameters:,} parameters, {prof.op_count} ops, opset {prof.opset}")
    print("weights by dtype: " + ", ".join(f"{k} {fmt_bytes(v)}" for k, v in prof.weight_bytes_by_dtype.items()))
    if prof.total_macs is not None:
        print(f"MACs at batch 1: {prof.total_macs:,}")
    print_table(
        ["layer", "op", "params>", "MACs>", "time µs>"],
        (
            (
                layer.name,
                layer.op_type,
                f"{layer.parameters:,}",
                f"{layer.macs:,}" if layer.macs is not None else None,
                f"{layer.time_us:.1f}" if layer.time_us is not None else None,
            )
            for layer in prof.layers
        ),
    )
    print(f"({prof.timing_note})")
    if prof.top_by_size(3):
        print("largest: " + ", ".join(f"{l.name} ({fmt_bytes(l.weight_bytes)})" for l in prof.top_by_size(3)))
    if prof.top_by_time(3):
        print("slowest: " + ", ".join(f"{l.name} ({l.time_us:.1f} µs)" for l in prof.top_by_time(3)))


def cmd_profile(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    prof = session.profile(force=args.refresh)
    if args.json:
        print_json(prof)
    else:
        _print_profile(prof)
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    exp = session.measure_baseline()
    if args.json:
        print_json(exp)
        return 0
    print_table(
        ["metric", "value>", "unit", "source"],
        ((m.metric, f"{m.value:.6g}", m.unit, f"[{m.source}]") for m in exp.measurements),
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.demo import build_demo
    from shrinkwise.workspace.speech_demo import build_speech_demo

    build = build_speech_demo if args.speech else build_demo
    out = args.out or default_demo_dir("speech-demo" if args.speech else "demo")
    session = build(out, measure=not args.no_measure, force=args.force)
    base = session.project.baseline
    acc = base.measurement("accuracy") if base else None
    lat = base.measurement("latency_ms_median") if base else None
    if args.json:
        print_json({"project": str(session.path), "baseline": base.model_dump(mode="json") if base else None})
        return 0
    print(f"demo project: {session.path}")
    if base and base.quality and acc and lat:
        print(
            f"baseline: accuracy {acc.value:.4f} on {base.quality.samples} held-out "
            f"{'clips' if args.speech else 'images'}, "
            f"latency {lat.value:.3f} ms median [host]"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.project import load_project

    project = load_project(args.project)
    if args.json:
        print(project.model_dump_json(indent=2))
        return 0
    print(f"{project.name} (schema {project.schema_version})")
    if project.model:
        print(f"  model: {project.model.path} [{project.model.format}] sha256 {project.model.sha256[:12]}")
    for d in project.data:
        print(f"  data:  {d.path} [{d.role}] {d.samples} samples")
    for e in project.experiments:
        print(f"  {e.id:24} {e.status:9} {e.label}")
    if project.target.id:
        print(f"  target: {project.target.id}")
    budget = project.budget.model_dump(exclude_none=True)
    if budget:
        print("  budget: " + ", ".join(f"{k}={v}" for k, v in budget.items()))
    if project.chosen:
        print(f"  chosen to ship: {project.chosen}")
    if any(e.kind in ("run", "sweep") and e.status == "finished" for e in project.experiments):
        from shrinkwise.workspace.session import Session

        print(f"  recommendation: {Session.open(args.project).recommendation().paragraph}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from shrinkwise.gui.app import run_app  # Qt is imported only here, so the rest of the CLI works without a display

    return run_app(project=args.project, demo=args.demo)


def default_demo_dir(name: str = "demo") -> Path:
    """Where `shrinkwise demo` builds without --out: the per-user data folder the desktop app's demo uses too."""
    import platformdirs

    return Path(platformdirs.user_data_dir("shrinkwise")) / name


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="create a project (optionally with a model and data)")
    p.add_argument("project", type=Path, help="the project file to create (.shrinkwise.json is added if missing)")
    p.add_argument("--name", help="a display name (default: from the file name)")
    p.add_argument("--model", type=Path, help="the trained model: .onnx, TorchScript .pt, .pt2 or a state dict")
    p.add_argument(
        "--data", type=Path, action="append", help="evaluation/calibration data: .npz or an image folder (repeatable)"
    )
    _add_model_args(p)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("model", help="set the project's model (ONNX, TorchScript, .pt2, or state dict + architecture)")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("model", type=Path, help="the trained model: .onnx, TorchScript .pt, .pt2 or a state dict")
    _add_model_args(p)
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("data", help="add data (.npz, or a folder of images or .wav clips in class sub-folders)")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument(
        "data",
        type=Path,
        nargs="?",
        help=".npz (x, optional y and groups, optional shrinkwise_spec JSON) or a folder of images in class "
        "sub-folders; leave out to only declare --input/--task",
    )
    p.add_argument(
        "--role",
        choices=["all", "evaluation", "calibration", "training"],
        default="all",
        help="'all' is split (seeded) into calibration and evaluation",
    )
    p.add_argument(
        "--input",
        action="append",
        metavar="NAME=KIND[:AXIS][:from=OUTPUT]",
        help="where an input's samples are: batch:AXIS, constant (one value for every batch, e.g. a sample rate) "
        "or state:AXIS (a recurrent state; zeros when the data has none); repeat per input",
    )
    p.add_argument(
        "--task",
        action="append",
        metavar="OUTPUT=TASK[:THRESHOLD][:axis=K]",
        help="what an output is: classification, binary[:threshold], embedding, regression, sequence, state or "
        "ignore (default: inferred, with the reason printed); axis=K where its samples are, if its shape does not "
        "say; repeat per output",
    )
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("profile", help="per-layer profile: parameters, MACs, measured time per node")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("--refresh", action="store_true", help="profile again even if a saved profile exists")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("measure", help="measure the original model (size, latency, memory, quality)")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("demo", help="build a demo project (digits, or --speech), profile it and measure the baseline")
    p.add_argument(
        "--out",
        type=Path,
        help=f"folder to build it in (default: {default_demo_dir()}, or {default_demo_dir('speech-demo')} with --speech)",
    )
    p.add_argument(
        "--speech",
        action="store_true",
        help="the speech demo: a keyword spotter (conv + GRU on log-mel frames) for a wake word on a "
        "microcontroller, with synthetic clips as a .wav folder and a waveform .npz",
    )
    p.add_argument("--no-measure", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true", help="replace a project already in --out (its runs are lost)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("show", help="summarise a project file")
    p.add_argument("project", type=Path, help=PROJECT_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("gui", help="open the desktop app")
    p.add_argument("project", type=Path, nargs="?", help="a project to open (default: the Start page)")
    p.add_argument("--demo", action="store_true", help="open the demo project (built on first use)")
    p.set_defaults(func=cmd_gui)
