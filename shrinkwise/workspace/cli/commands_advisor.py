"""Advisor commands: advise, targets, rules.

`advise PROJECT` builds facts from a saved project; `advise --facts FILE` runs the advisor alone on a facts file
(handy for trying "what if" budgets and for tests). Advisor errors become one-line `ShrinkwiseError`s (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from shrinkwise.compression.errors import ShrinkwiseError


class AdvisorInputError(ShrinkwiseError):
    """A facts file, project answer, rule or target the advisor cannot use."""


def _guard(fn: Callable[[], int]) -> int:
    from shrinkwise.advisor.errors import AdvisorError

    try:
        return fn()
    except AdvisorError as exc:
        raise AdvisorInputError(str(exc)) from None


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def cmd_advise(args: argparse.Namespace) -> int:
    def run() -> int:
        from shrinkwise.advisor.engine import advise
        from shrinkwise.advisor.facts import facts_json_schema, load_facts_file
        from shrinkwise.advisor.render import advice_text
        from shrinkwise.compression.catalog import load_catalog

        if args.facts_schema:
            _print_json(facts_json_schema())
            return 0
        if bool(args.project) == bool(args.facts):
            raise ShrinkwiseError(
                "give a PROJECT or --facts FILE (not both)", fix="e.g. 'shrinkwise advise my.shrinkwise.json'"
            )
        if args.facts:  # a facts file stands alone: no project, so straight to the advisor
            facts = load_facts_file(args.facts)
            name = facts.model.name
            advice = advise(facts, load_catalog())
        else:
            from shrinkwise.workspace.facts import build_facts
            from shrinkwise.workspace.session import Session

            session = Session.open(args.project)
            facts = build_facts(session.project, session.path)
            name = session.project.name
            advice = session.advise()
        if args.save_facts:
            from pathlib import Path

            Path(args.save_facts).write_text(
                facts.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8"
            )
        if args.json:
            _print_json(advice.model_dump(mode="json"))
        else:
            sys.stdout.write(advice_text(advice, name))
        return 0

    return _guard(run)


def cmd_targets(args: argparse.Namespace) -> int:
    def run() -> int:
        from shrinkwise.advisor.render import targets_text
        from shrinkwise.advisor.targets import all_targets

        profiles = all_targets()
        if args.json:
            _print_json({tid: p.model_dump(mode="json") for tid, p in profiles.items()})
        else:
            sys.stdout.write(targets_text(profiles))
        return 0

    return _guard(run)


def cmd_rules(args: argparse.Namespace) -> int:
    def run() -> int:
        from shrinkwise.advisor.coverage import coverage, coverage_problems
        from shrinkwise.advisor.render import coverage_text, rules_text
        from shrinkwise.advisor.rules import load_rules
        from shrinkwise.compression.catalog import load_catalog

        rules = load_rules(load_catalog())
        if args.coverage:
            rows = coverage(rules)
            if args.json:
                _print_json([r.model_dump(mode="json") for r in rows])
            else:
                sys.stdout.write(coverage_text(rows))
            problems = coverage_problems(rows)
            for p in problems:
                print(f"shrinkwise: coverage: {p}", file=sys.stderr)
            return 1 if problems else 0
        if args.json:
            _print_json(
                [{"id": r.id, "category": r.category, "path": r.path, **r.rule.model_dump(mode="json")} for r in rules]
            )
        else:
            sys.stdout.write(rules_text(rules))
        return 0

    return _guard(run)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "advise", help="what to try, in order and why; what will not work; what the advisor needs to know"
    )
    p.add_argument("project", nargs="?", help="the project file")
    p.add_argument("--facts", metavar="FILE", help="run the advisor alone on a facts JSON file instead of a project")
    p.add_argument("--facts-schema", action="store_true", help="print the JSON schema of a facts file and exit")
    p.add_argument("--save-facts", metavar="FILE", help="also write the facts the advice was built from")
    p.add_argument("--json", action="store_true", help="print the advice as JSON")
    p.set_defaults(func=cmd_advise)

    p = sub.add_parser("targets", help="the device profiles the advisor knows, and this computer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser("rules", help="the advisor's rules; --coverage maps each lesson to its rules")
    p.add_argument(
        "--coverage", action="store_true", help="each lesson ID with the rules that encode it, or why none does"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rules)
