"""`shrinkwise autopilot`: climb the compression ladder until the budget is met, printing each rung as it goes.

Exit status: 0 when a candidate meets every budget (or every budget that can be checked here), 1 when the climb
ended without one (the journal says why and names the best trade-off), 130 on Ctrl-C (run it again to resume).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shrinkwise.workspace.cli.output import print_json
from shrinkwise.workspace.cli.progress import Progress

PROJECT_HELP = "the project: a .shrinkwise.json file, or the folder holding one"


def rung_line(r: Any) -> str:
    """'2. int8_static — finished: 98.5 kB, 3.67× smaller, 1.10× faster, drop +0.00 pts' (one line per rung)."""
    head = f"{r.index}." if r.action != "skip" else "-"
    bits = r.figures.phrases()
    return f"{head} {r.title} — {r.status_word}" + (f": {', '.join(bits)}" if bits else "")


def print_journal(journal: Any) -> None:
    """The timeline, a rung per paragraph, then how it ended (the same words the GUI and the report use)."""
    print(f"Autopilot {journal.id}")
    for r in journal.rungs:
        print(rung_line(r))
        last = r is journal.rungs[-1]
        for text in (r.verdict or r.error or (r.why if r.action == "skip" else ""), *r.notes, "" if last else r.next):
            if text:
                print(f"   {text}")
    print(f"The autopilot {journal.status_text}. {journal.stopped_because}")
    if journal.final:
        print(f"candidate: {journal.final} ({journal.final_label})")


def cmd_autopilot(args: argparse.Namespace) -> int:
    from shrinkwise.workspace.autopilot import Autopilot, AutopilotEvent, parse_duration
    from shrinkwise.workspace.session import Session

    session = Session.open(args.project)
    progress = Progress(quiet=args.quiet, verbose=args.verbose)

    def on_event(ev: AutopilotEvent) -> None:
        if ev.kind == "run_event":
            progress.prefix = f"[rung {ev.index}/{ev.max_rungs}] "
            progress(ev.event)
        elif not args.quiet and ev.kind in ("rung_started", "rung_finished"):
            progress.clear()
            if ev.kind == "rung_finished" and ev.rung is not None and ev.rung.action == "skip":
                progress.write(f"skipped: {ev.rung.title} — {ev.rung.why}")
            elif ev.kind == "rung_started":
                progress.write(ev.text + (f"\n  why: {ev.rung.why}" if args.verbose and ev.rung else ""))

    pilot = Autopilot(session, parse_duration(args.time_budget), args.max_rungs, on_event)
    try:
        journal = pilot.run()
    except KeyboardInterrupt:
        progress.clear()
        print("cancelled; the journal is kept: run the autopilot again to resume", file=sys.stderr)
        raise
    progress.clear()
    if args.json:
        print_json(journal)
    else:
        print_journal(journal)
    return 0 if journal.status in ("met", "provisional") else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "autopilot",
        help="run the advisor's ladder on real measurements and stop at the first candidate that meets the budget",
        description=(
            "Runs the least invasive step first, measures it, re-advises on what was measured and climbs "
            "(per-channel scales, keeping sensitive layers in float, 4-bit embeddings) until a candidate meets "
            "every budget, the time budget is spent or nothing is left to try. Every rung is a recorded run; "
            "after a crash or Ctrl-C, the same command resumes."
        ),
    )
    p.add_argument("project", help=PROJECT_HELP)
    p.add_argument(
        "--time-budget", default="10m", help="wall-clock time for the whole climb, e.g. 90s, 10m, 1h (default 10m)"
    )
    p.add_argument("--max-rungs", type=int, default=8, help="most measured rungs before stopping (default 8)")
    p.set_defaults(func=cmd_autopilot)
