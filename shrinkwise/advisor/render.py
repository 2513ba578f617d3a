"""Plain-text views of advice, targets, rules and coverage, for the terminal and for Markdown reports.

Kept in the advisor (not the CLI) so every front end words things the same way.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from shrinkwise.advisor.advice import Advice, PlanStep, Question, Statement
from shrinkwise.advisor.coverage import CoverageRow
from shrinkwise.advisor.feasibility import Feasibility
from shrinkwise.advisor.provenance import CONFIDENCE_WORDS, Provenance
from shrinkwise.advisor.rules import LoadedRule
from shrinkwise.advisor.targets import TargetProfile

WIDTH = 100


def _wrap(text: str, indent: str) -> list[str]:
    # Never break inside a rule id, a technique id or a path ("int8-dynamic-for-matmul-on-" / "cpu").
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    ) or [indent]


def _sources(sources: Iterable[Provenance], indent: str) -> list[str]:
    out = []
    for p in sources:
        lesson = f" [{p.lesson}]" if p.lesson else ""
        out += _wrap(f"source: {p.label()}{lesson}", indent)
        if p.note:  # caveats such as "not checked against its full text" are part of the evidence
            out += _wrap(f"note: {p.note}", indent + "  ")
    return out


def _statement(s: Statement, head: str, indent: str = "    ") -> list[str]:
    about = f" ({s.subject})" if s.subject else ""
    lines = _wrap(f"{head} {s.rule_id}{about}: {s.what}", "  ")
    lines += _wrap(f"why: {s.why}", indent)
    lines += _wrap(f"do: {s.do}", indent)
    return lines + _sources(s.sources, indent)


def _setting(value: object) -> str:
    """A config value as it is typed in a recipe (true, [MatMul, Gemm]), not as Python prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    return str(value)


def _step(s: PlanStep) -> list[str]:
    kind = f"technique {s.technique}" if s.technique else f"activity {s.activity}"
    lines = _wrap(f"{s.position}. {s.name}  [{kind}; rule {s.rule_id}]", "  ")
    lines += _wrap(s.what, "     ")
    if s.config:
        lines += _wrap("config: " + ", ".join(f"{k}={_setting(v)}" for k, v in s.config.items()), "     ")
    if s.expected:
        lines += _wrap(f"expected: {s.expected}", "     ")
    if s.needs:
        lines += _wrap("needs: " + "; ".join(s.needs), "     ")
    if s.missing:
        lines += _wrap("MISSING: " + "; ".join(s.missing), "     ")
    if s.needs_training:
        lines += ["     (needs training)"]
    if s.done_by:
        lines += _wrap("already run: " + ", ".join(s.done_by), "     ")
    if s.optional:
        lines += ["     (optional: a candidate already meets every budget)"]
    if s.blocked_by:
        lines += _wrap("blocked by: " + ", ".join(s.blocked_by), "     ")
    lines += _wrap(f"why: {s.why}", "     ")
    lines += _wrap(f"do: {s.do}", "     ")
    if s.also_from:
        lines += _wrap("also recommended by: " + ", ".join(s.also_from), "     ")
    return lines + _sources(s.sources, "     ")


def _question(q: Question) -> list[str]:
    choices = f" (one of: {', '.join(q.choices)})" if q.choices else ""
    lines = _wrap(f"? {q.what}{choices}", "  ")
    lines += _wrap(f"why: {q.why}", "    ")
    lines += _wrap(f"answer: {q.do}", "    ")
    lines += _wrap(f"(shrinkwise answer PROJECT {q.fact}=VALUE)", "    ")
    return lines + _sources(q.sources, "    ")


def _num(value: float | None, unit: str = "") -> str:
    """Numbers for people: 1,500 rather than 1.5e+03; three significant digits below 100."""
    if value is None:
        return "not set"
    return (f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}") + unit


SOURCE_WORDS = {
    "device": "measured on the device",
    "host": "measured on this computer",
    "estimate": "estimate",
    "proxy": "measured on a similar device",
}


def _gap(gap: float | None, need: str, budget: str) -> str:
    """A gap (now / budget) in words: how much must change, or that the budget is already met."""
    if gap is None:
        return f"no {budget} budget set"
    if gap <= 1.0:
        return f"already within the {budget} budget"
    return f"must {need} {gap:.2f}x to meet the {budget} budget"


def _feasibility_size(fz: Feasibility) -> str:
    now = "" if fz.size_now_mb is None else f"now {_num(fz.size_now_mb, ' MB')}, "
    return (
        f"size: {now}{_gap(fz.size_gap, 'shrink', 'size')}; best case here: {fz.size_best_int8:.1f}x smaller at "
        f"8 bits, {fz.size_best_post_training:.1f}x with no training at all, {fz.size_best_low_bit:.1f}x at 4 bits, "
        f"{fz.size_best_training:.1f}x with training"
    )


def _feasibility_latency(fz: Feasibility) -> str:
    if fz.latency_now_ms is None:
        now = "not known yet"
    else:
        now = f"now about {_num(fz.latency_now_ms, ' ms')} ({SOURCE_WORDS.get(fz.latency_now_source, 'estimate')})"
    best = (
        ""
        if fz.latency_best_post_training_ms is None
        else f"; best post-training about {_num(fz.latency_best_post_training_ms, ' ms')} (estimate)"
    )
    return f"latency: {now}; {_gap(fz.latency_gap, 'be faster by', 'latency')}{best}"


def _feasibility_memory(fz: Feasibility) -> str:
    now = "not known yet" if fz.memory_now_mb is None else f"now about {_num(fz.memory_now_mb, ' MB')}"
    return f"memory: {now}; {_gap(fz.memory_gap, 'shrink', 'memory')}"


def advice_text(advice: Advice, model_name: str = "") -> str:
    fz = advice.feasibility
    title = f"Advice for {model_name or 'the model'} on {advice.target_name}"
    lines = [title, "=" * len(title), ""]
    if advice.decision.status != "no_candidate":
        lines += ["Which candidate to ship"]
        lines += _wrap(advice.decision.paragraph, "  ")
        lines.append("")
    if advice.blockers:
        lines += ["Blockers (what stops the goal until resolved)"]
        for s in advice.blockers:
            lines += _statement(s, f"X [{s.severity}]")
        lines.append("")
    lines += ["Plan, in order"]
    lines += [line for s in advice.plan for line in _step(s)] or ["  (no steps yet: answer the questions below)"]
    lines.append("")
    if advice.warnings:
        lines += ["Warnings and notes (most serious first)"]
        for s in advice.warnings:
            lines += _statement(s, f"! [{s.severity}]")
        lines.append("")
    if advice.questions:
        lines += ["What the advisor still needs to know"]
        for q in advice.questions:
            lines += _question(q)
        lines.append("")
    lines += ["Feasibility (before any run)"]
    lines += _wrap(_feasibility_size(fz), "  ")
    lines += _wrap(_feasibility_latency(fz), "  ")
    lines += _wrap(_feasibility_memory(fz), "  ")
    for note in advice.estimates:
        lines += _wrap(f"* {note}", "  ")
    return "\n".join(lines).rstrip() + "\n"


def targets_text(profiles: dict[str, TargetProfile]) -> str:
    lines = []
    for tid, p in profiles.items():
        flags = []
        flags.append("fast int8" if p.int8_accelerated else "no fast int8")
        flags.append("fast fp16" if p.fp16_accelerated else "no fast fp16")
        flags.append(f"sparsity {'/'.join(p.sparsity_patterns)}" if p.sparse_accelerated else "no sparse compute")
        lines.append(f"{tid}: {p.name}")
        lines += _wrap(f"precisions {', '.join(p.precisions)}; {'; '.join(flags)}", "    ")
        lines += _wrap(
            f"memory {_num(p.memory_mb, ' MB')}, storage {_num(p.storage_mb, ' MB')}, "
            f"fp32 {_num(p.peak_gflops_fp32, ' GFLOP/s')}, int8 {_num(p.peak_gops_int8, ' GOP/s')}, "
            f"bandwidth {_num(p.bandwidth_gbps, ' GB/s')}",
            "    ",
        )
        if p.cpu_flags:
            lines += _wrap("CPU flags found: " + ", ".join(p.cpu_flags), "    ")
        for note in p.notes:
            lines += _wrap(note, "    ")
        lines += _sources(p.sources, "    ")
    return "\n".join(lines) + "\n"


def rules_text(rules: list[LoadedRule]) -> str:
    lines = []
    for r in rules:
        a = r.rule.action
        what = a.technique or a.activity or a.asks or ",".join(a.blocks) or ""
        lessons = ", ".join(r.rule.lessons) or "-"
        confidence = sorted({CONFIDENCE_WORDS[p.confidence] for p in r.rule.provenance})
        lines.append(f"{r.category}/{r.id}  [{a.kind}{' ' + what if what else ''}; {r.rule.severity}]  {r.rule.title}")
        lines += _wrap(f"lessons: {lessons}; evidence: {'; '.join(confidence)}", "    ")
    return "\n".join(lines) + f"\n{len(rules)} rules\n"


def coverage_text(rows: list[CoverageRow]) -> str:
    lines = []
    for row in rows:
        if row.rules:
            lines += _wrap(f"{row.lesson} [{row.tag}] {row.title}: {', '.join(row.rules)}", "")
        else:
            lines += _wrap(
                f"{row.lesson} [{row.tag}] {row.title}: NOT ENCODED — {row.not_encoded or 'no reason given'}", ""
            )
    encoded = sum(1 for r in rows if r.rules)
    lines.append(f"{encoded} of {len(rows)} lessons encoded by at least one rule; {len(rows) - encoded} not encoded.")
    return "\n".join(lines) + "\n"
