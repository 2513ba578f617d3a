"""Report and hand-off commands: report, choose, export, bundle, import-results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.workspace.cli.output import print_json

if TYPE_CHECKING:
    from shrinkwise.advisor.advice import Advice


def _read_advice(path: str | None) -> Advice | None:
    """Advice saved by `shrinkwise advise PROJECT --json > FILE`, validated as the advisor's own type."""
    from pydantic import ValidationError

    from shrinkwise.advisor.advice import Advice
    from shrinkwise.advisor.errors import first_validation_error

    if not path:
        return None
    fix = "save it with 'shrinkwise advise PROJECT --json > FILE'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShrinkwiseError("no such file", path, fix) from None
    except (OSError, ValueError) as exc:
        raise ShrinkwiseError(f"is not a readable file ({exc.__class__.__name__})", path, fix) from None
    try:
        return Advice.model_validate_json(text)
    except ValidationError as exc:
        raise ShrinkwiseError(f"is not the advisor's JSON: {first_validation_error(exc)}", path, fix) from None


def cmd_report(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.report import FORMATS, format_from_path, write_report
    from shrinkwise.workspace.session import Session

    fmt = args.format or format_from_path(args.out)
    if fmt is None:
        raise ShrinkwiseError(
            f"cannot tell the format from '{args.out}'",
            fix=f"add --format ({'|'.join(FORMATS)}) or use a .html/.pdf/.md/.json name",
        )
    session = Session.open(args.project)
    out = write_report(session, fmt, args.out, advice=_read_advice(args.advice), compute=not args.no_compute)
    if args.json:
        print_json({"report": str(out), "format": fmt})
        return 0
    print(f"report written: {out}")
    return 0


def cmd_choose(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.export import choose
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    exp = choose(session, args.candidate)
    if args.json:
        print_json({"chosen": exp.id, "label": exp.label})
        return 0
    print(f"chosen: {exp.id} ({exp.label or exp.id})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.export import export_candidate
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    result = export_candidate(session, args.candidate, args.out)
    if args.json:
        print_json({"candidate": result.candidate_id, "model": str(result.model_path), "card": str(result.card_path)})
        return 0
    print(f"exported {result.candidate_id}: {result.model_path} and {result.card_path}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.bundle import make_bundle
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    out = make_bundle(session, args.candidate, args.out, samples=args.samples, include_original=not args.no_original)
    if args.json:
        print_json({"bundle": str(out)})
        return 0
    print(f"bundle written: {out}")
    print(
        "copy it to the device, run 'python run_benchmark.py' there, then 'shrinkwise import-results PROJECT results.json'"
    )
    return 0


def cmd_import_results(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.bundle import import_results
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    exp, added = import_results(session, args.results)
    if args.json:
        print_json({"candidate": exp.id, "added": [m.model_dump(mode="json") for m in added]})
        return 0
    print(f"attached {len(added)} device measurement(s) to {exp.id} ({exp.label or exp.id})")
    for m in added:
        print(f"  {m.metric} = {m.value:g} {m.unit}".rstrip())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the report (HTML, PDF, Markdown or JSON)")
    p.add_argument("project", help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("--format", choices=("html", "pdf", "md", "json"), help="default: from the --out file's suffix")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument(
        "--advice", metavar="FILE", help="the advisor's JSON ('shrinkwise advise PROJECT --json'); default: ask it"
    )
    p.add_argument(
        "--no-compute", action="store_true", help="do not run models for the layer profile and disagreement answers"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("choose", help="pick the candidate to ship (used by the report, export and bundle)")
    p.add_argument("project", help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("candidate", help="experiment id (or a unique label)")
    p.set_defaults(func=cmd_choose)

    p = sub.add_parser("export", help="write the chosen candidate as ONNX with a model card")
    p.add_argument("project", help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("candidate", nargs="?", help="experiment id or label (default: the chosen one)")
    p.add_argument("--out", required=True, help="folder to write into")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bundle", help="write an on-device benchmark bundle (folder or .zip)")
    p.add_argument("project", help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("candidate", help="experiment id or label ('chosen' for the chosen one)")
    p.add_argument("--out", required=True, help="folder, or a file ending in .zip")
    p.add_argument(
        "--samples", type=int, default=32, help="evaluation inputs to include for output agreement (0: none)"
    )
    p.add_argument(
        "--no-original", action="store_true", help="leave the original model out (no agreement check on the device)"
    )
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("import-results", help="attach a benchmark bundle's results.json as device measurements")
    p.add_argument("project", help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("results", help="results.json written by the bundle's script on the device")
    p.set_defaults(func=cmd_import_results)
