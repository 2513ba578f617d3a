"""Stating the goal from the command line: the device target, the budget, and answers to the advisor's questions.

These write `project.target`, `project.budget` and `project.answers` in the shape `workspace.facts` reads, so the
CLI and the wizard's Target & Budget page store the same thing.
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
}


def cmd_target(args: argparse.Namespace) -> int:
    from shrinkwise.advisor.errors import AdvisorError
    from shrinkwise.advisor.targets import get_target
    from shrinkwise.workspace.session import Session

    try:
        target = get_target(args.target_id)
    except AdvisorError as exc:
        raise ShrinkwiseError(str(exc), fix="see 'shrinkwise targets' for the known ids") from None
    session = Session.open(args.project)
    session.project.target = {"id": args.target_id}
    session.save()
    print(f"target: {args.target_id} — {getattr(target, 'name', args.target_id)}")
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    budget = dict(session.project.budget)
    changed = False
    for key in _BUDGET_FLAGS:
        value = getattr(args, key)
        if value is None:
            continue
        if value < 0 or (value == 0 and key != "accuracy_drop_pts"):
            raise ShrinkwiseError(f"--{key.replace('_', '-')} must be positive (got {value:g})")
        budget[key] = value
        changed = True
    for key in args.clear or []:
        budget.pop(key.replace("-", "_"), None)
        changed = True
    if changed:
        session.project.budget = budget
        session.save()
    print(json.dumps(budget, indent=2, sort_keys=True))
    return 0


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_answer(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    answers = dict(session.project.answers)
    for item in args.answers:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ShrinkwiseError(f"'{item}' is not KEY=VALUE", fix="e.g. data.has_training_data=true")
        answers[key] = _parse_value(value)
    session.project.answers = answers
    # Check the answers against the advisor's vocabulary before keeping them.
    from shrinkwise.workspace.facts import build_facts

    try:
        build_facts(session.project, session.path)
    except Exception as exc:
        raise ShrinkwiseError(
            f"the answers do not fit the advisor's facts: {str(exc).splitlines()[0]}",
            fix="see 'shrinkwise advise --facts-schema'",
        ) from None
    session.save()
    print(json.dumps(answers, indent=2, sort_keys=True))
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
    p.add_argument("--clear", action="append", metavar="KEY", help="remove a budget entry, e.g. --clear latency-ms")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser(
        "answer", help="answer the advisor's questions: KEY=VALUE (JSON values), e.g. device_available=false"
    )
    p.add_argument("project", type=Path, help="the project: a .shrinkwise.json file, or the folder holding one")
    p.add_argument(
        "answers", nargs="+", metavar="KEY=VALUE", help="one or more answers; the keys are in 'shrinkwise advise'"
    )
    p.set_defaults(func=cmd_answer)
