"""Stating the goal from the command line: the device target, the budget, and answers to the advisor's questions.

All three go through `Session.set_target` / `set_budget` / `answer`, the same calls the wizard makes, so an answer
given on the command line and one given in the GUI are stored alike (budget answers land in the budget).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shrinkwise.compression.errors import ShrinkwiseError

_BUDGET_FLAGS = {
    "size_mb": "largest model file, in MB",
    "latency_ms": "slowest acceptable inference at batch 1, in ms",
    "peak_memory_mb": "most memory the model may use while running, in MB",
    "accuracy_drop_pts": "largest acceptable accuracy drop, in percentage points (1 = 99%% -> 98%%)",
    "max_disagreement_pct": "largest share of inputs whose answer may change, in %%",
    "power_mw": "power budget in mW (advisor only; Shrinkwise does not measure power)",
    "min_cosine": "lowest acceptable mean cosine similarity of the outputs to the original's (0-1; models without labels)",
}


def cmd_target(args: argparse.Namespace) -> int:
    from shrinkwise.advisor.targets import get_target
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    session.set_target(args.target_id)
    session.save()
    print(f"target: {args.target_id} — {get_target(args.target_id).name}")
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    # Clears first, then the values given, so `--clear size-mb --smaller 4` replaces the size by the factor's
    # (the clear used to be applied last and silently undid the new value).
    changes: dict[str, Any] = {key.replace("-", "_"): None for key in args.clear or []}
    for key in _BUDGET_FLAGS:
        value = getattr(args, key)
        if value is None:
            continue
        if value < 0 or (value == 0 and key != "accuracy_drop_pts"):
            raise ShrinkwiseError(f"--{key.replace('_', '-')} must be positive (got {value:g})")
        changes[key] = value
    if args.smaller is not None or args.faster is not None:
        changes.update(session.relative_budget(smaller=args.smaller, faster=args.faster))
    if changes:
        session.set_budget(**changes)
        session.save()
    print(json.dumps(session.project.budget.model_dump(exclude_none=True), indent=2, sort_keys=True))
    return 0


_YES = {"yes", "y", "true", "on"}
_NO = {"no", "n", "false", "off"}


def _parse_value(text: str) -> Any:
    """JSON where it parses (numbers, true/false, lists), yes/no as booleans, anything else as text."""
    if text.strip().lower() in _YES:
        return True
    if text.strip().lower() in _NO:
        return False
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_answer(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    for item in args.answers:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ShrinkwiseError(f"'{item}' is not KEY=VALUE", fix="e.g. data.has_training_data=yes")
        session.answer(key, _parse_value(value))
    session.save()
    p = session.project
    print(
        json.dumps(
            {"target": p.target.id, "budget": p.budget.model_dump(exclude_none=True), "answers": p.answers},
            indent=2,
            sort_keys=True,
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("target", help="set the device the model must run on (see 'shrinkwise targets')")
    p.add_argument("project", type=Path, help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument("target_id", help="a device id from 'shrinkwise targets', e.g. phone-npu")
    p.set_defaults(func=cmd_target)

    p = sub.add_parser("budget", help="set the budget: size, latency, memory, accuracy tolerance")
    p.add_argument("project", type=Path, help="the project: a .shrinkwise.json file, or the folder holding one")
    for key, text in _BUDGET_FLAGS.items():
        p.add_argument(f"--{key.replace('_', '-')}", dest=key, type=float, help=text)
    p.add_argument(
        "--smaller", type=float, metavar="N", help="size budget as a factor: at most the original's file size ÷ N"
    )
    p.add_argument(
        "--faster",
        type=float,
        metavar="N",
        help="speed budget: at least N× faster than the original, timed side by side on this computer (1 = never slower)",
    )
    p.add_argument("--clear", action="append", metavar="KEY", help="remove a budget entry, e.g. --clear latency-ms")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser(
        "answer", help="answer the advisor's questions: KEY=VALUE (yes/no, numbers, JSON), e.g. device_available=no"
    )
    p.add_argument("project", type=Path, help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument(
        "answers", nargs="+", metavar="KEY=VALUE", help="one or more answers; the keys are in 'shrinkwise advise'"
    )
    p.set_defaults(func=cmd_answer)
