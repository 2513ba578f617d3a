"""Running the rules over a situation and assembling the advice, deterministically.

Same facts, same advice, same order: rules are evaluated in id order, candidates in the order given, and every
output list is sorted by an explicit key (plan: order, then step, then rule id; warnings and blockers: severity,
then rule id, then subject; questions: order, then fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shrinkwise.advisor.activities import ACTIVITIES
from shrinkwise.advisor.advice import Advice, PlanStep, Question, Statement
from shrinkwise.advisor.decision import decide
from shrinkwise.advisor.facts import Facts
from shrinkwise.advisor.feasibility import embedding_share
from shrinkwise.advisor.rules import SEVERITY_RANK, LoadedRule, cached_rules
from shrinkwise.advisor.situation import Situation, build_situation
from shrinkwise.advisor.template import render

Manifest = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Firing:
    """A rule that matched, and the symbols its message is filled from (with `candidate` for result rules)."""

    rule: LoadedRule
    subject: str | None
    symbols: dict[str, Any]


def symbols_of(situation: Situation) -> dict[str, Any]:
    return {name: getattr(situation, name) for name in type(situation).model_fields}


def fire(situation: Situation, rules: list[LoadedRule]) -> list[Firing]:
    """Every (rule, subject) that matches, in rule-id order then candidate order."""
    base = symbols_of(situation)
    out: list[Firing] = []
    for loaded in rules:
        if loaded.rule.scope == "candidate":
            for cand in situation.results.candidates:
                symbols = {**base, "candidate": cand}
                if loaded.compiled.matches(symbols):
                    out.append(Firing(loaded, cand.id, symbols))
        elif loaded.compiled.matches(base):
            out.append(Firing(loaded, None, base))
    return out


def _statement_fields(f: Firing) -> dict[str, Any]:
    r = f.rule.rule
    return {
        "rule_id": r.id,
        "title": r.title,
        "severity": r.severity,
        "what": render(r.message.what, f.symbols),
        "why": render(r.message.why, f.symbols),
        "do": render(r.message.do, f.symbols),
        "subject": f.subject,
        "sources": list(r.provenance),
    }


def _needs(entry: dict[str, Any], situation: Situation) -> tuple[list[str], list[str]]:
    """What a technique needs (from the manifest) and which of those the facts say are missing."""
    needs, missing = [], []
    d = situation.data
    wanted = entry.get("needs", {})
    if wanted.get("calibration"):
        needs.append("calibration samples (representative inputs)")
        if d.calibration_samples == 0:
            missing.append("calibration samples")
    if wanted.get("training"):
        needs.append("labelled training data and time to train")
        if d.has_training_data is False:
            missing.append("training data")
    if wanted.get("torch_model"):
        needs.append("the model in PyTorch")
        if d.torch_model_available is False:
            missing.append("the model in PyTorch")
    return needs, missing


def _expected(entry: dict[str, Any], technique: str, situation: Situation) -> str:
    look = next((o for o in situation.feasibility.outlooks if o.technique == technique), None)
    parts = [entry.get("summary", "")]
    if look is not None and look.size_factor:
        parts.append(f"Best case here: about {look.size_factor:.1f}x smaller.")
    if look is not None and not look.runs_on_target and look.reason:
        parts.append(f"Caution: {look.reason}.")
    return " ".join(p for p in parts if p)


def _done_by(situation: Situation, technique: str | None, marker_op: str) -> list[str]:
    """Candidates that ran exactly this technique; for a variant, those whose graph shows it (its marker op)."""
    return [
        c.id
        for c in situation.results.candidates
        if technique and c.techniques == [technique] and (not marker_op or marker_op in c.op_types)
    ]


def _plan(firings: list[Firing], situation: Situation, manifest: Manifest, blockers: list[Firing]) -> list[PlanStep]:
    chosen: dict[str, tuple[tuple[int, str, str], Firing]] = {}
    others: dict[str, list[str]] = {}
    for f in firings:
        a = f.rule.rule.action
        key = (a.technique + (f":{a.variant}" if a.variant else "")) if a.technique else f"activity:{a.activity}"
        rank = (a.order, key, f.rule.id)
        if key not in chosen or rank < chosen[key][0]:
            if key in chosen:
                others.setdefault(key, []).append(chosen[key][1].rule.id)
            chosen[key] = (rank, f)
        else:
            others.setdefault(key, []).append(f.rule.id)
    ship = any(f.rule.rule.action.activity == "ship_candidate" for _, f in chosen.values())
    steps: list[PlanStep] = []
    for position, (key, (_, f)) in enumerate(sorted(chosen.items(), key=lambda kv: kv[1][0]), start=1):
        a = f.rule.rule.action
        if a.technique:
            entry = manifest[a.technique]
            name, in_app = a.name or entry.get("title", a.technique), True
            needs, missing = _needs(entry, situation)
            training = bool(entry.get("needs", {}).get("training")) or bool(entry.get("training_aware"))
            expected = render(a.expected, f.symbols) if a.expected else _expected(entry, a.technique, situation)
        else:
            name, in_app = ACTIVITIES[a.activity or ""]
            needs, missing, training = [], [], a.activity == "training_aware_compression"
            expected = render(a.expected, f.symbols) if a.expected else ""
        blocked = sorted(
            {
                b.rule.id
                for b in blockers
                if ("*" in b.rule.rule.action.blocks and a.technique)
                or (a.technique in b.rule.rule.action.blocks)
                or (a.activity in b.rule.rule.action.blocks)
            }
        )
        steps.append(
            PlanStep(
                **_statement_fields(f),
                position=position,
                technique=a.technique,
                activity=a.activity,
                name=name,
                config=dict(a.config),
                variant=a.variant,
                expected=expected,
                needs=[*needs, *a.needs],
                missing=missing,
                needs_training=training,
                in_app=in_app,
                blocked_by=blocked,
                also_from=sorted(set(others.get(key, []))),
                done_by=_done_by(situation, a.technique, a.marker_op),
                optional=ship and a.technique is not None,
            )
        )
    return steps


def _by_severity(items: list[Statement]) -> list[Statement]:
    return sorted(items, key=lambda s: (-SEVERITY_RANK[s.severity], s.rule_id, s.subject or ""))


def _estimates(situation: Situation) -> list[str]:
    fz, t = situation.feasibility, situation.target
    out = []
    if fz.size_now_source == "parameters" and fz.size_now_mb is not None:
        m = situation.model
        out.append(
            f"Size of the original: about {fz.size_now_mb:.3g} MB ({m.parameters:,} parameters x "
            f"{m.weight_dtype}; no file size known)."
        )
    if fz.latency_now_source == "estimate" and fz.latency_now_ms is not None:
        out.append(
            f"Latency of the original on the device: about {fz.latency_now_ms:.3g} ms "
            "(estimate from the model's operation count and the device's peak compute and bandwidth; not measured)."
        )
    if fz.latency_best_post_training_ms is not None and fz.best_post_training_technique:
        label = (
            "estimate"
            if fz.latency_now_source in ("estimate", "none")
            else "scaled from the measurement on "
            + ("this computer" if fz.latency_now_source == "host" else "the device")
            + " by an estimate"
        )
        out.append(
            f"Best post-training latency on the device: about {fz.latency_best_post_training_ms:.3g} ms "
            f"with {fz.best_post_training_technique} ({label})."
        )
    if fz.size_embeddings_4bit is not None:
        share = embedding_share(situation.model) or 0.0
        out.append(
            f"int8_dynamic with 4-bit embedding tables: about {fz.size_embeddings_4bit:.2g}x smaller at best "
            f"(estimate: {share:.0%} of the weights sit in embedding tables, stored at 4 bits, the rest at 8)."
        )
    # Say why a technique has no estimate rather than print a number a warning contradicts (feasibility.outlooks).
    notes: dict[str, list[str]] = {}
    for o in fz.outlooks:
        if o.note.startswith("no latency estimate") and t.known:
            notes.setdefault(o.note, []).append(o.technique)
    out.extend(
        f"No latency estimate for {', '.join(techniques)}: {note.removeprefix('no latency estimate: ')}."
        for note, techniques in notes.items()
    )
    if fz.memory_now_mb is not None and not (t.is_this_computer and situation.model.peak_memory_mb):
        out.append(
            f"Peak memory of the original: about {fz.memory_now_mb:.3g} MB (estimate: weights plus the largest activations)."
        )
    return out


def evaluate(situation: Situation, rules: list[LoadedRule], manifest: Manifest) -> Advice:
    """Fire the rules and turn the matches into advice."""
    firings = fire(situation, rules)
    kinds: dict[str, list[Firing]] = {"recommend": [], "warn": [], "block": [], "ask": []}
    for f in firings:
        kinds[f.rule.rule.action.kind].append(f)
    questions: dict[str, tuple[tuple[int, str, str], Question]] = {}
    for f in kinds["ask"]:
        a = f.rule.rule.action
        q = Question(**_statement_fields(f), fact=a.asks or "", choices=list(a.choices))
        rank = (a.order, q.fact, f.rule.id)
        if q.fact not in questions or rank < questions[q.fact][0]:
            questions[q.fact] = (rank, q)
    return Advice(
        target=situation.target.id,
        target_name=situation.target.name,
        plan=_plan(kinds["recommend"], situation, manifest, kinds["block"]),
        warnings=_by_severity([Statement(**_statement_fields(f)) for f in kinds["warn"]]),
        blockers=_by_severity([Statement(**_statement_fields(f)) for f in kinds["block"]]),
        questions=[q for _, q in sorted(questions.values(), key=lambda rq: rq[0])],
        feasibility=situation.feasibility,
        estimates=_estimates(situation),
        rules_fired=sorted({f.rule.id for f in firings}),
        decision=decide(situation),
    )


def advise(facts: Facts, manifest: Manifest, rules: list[LoadedRule] | None = None) -> Advice:
    """The advisor's front door: facts and the technique manifest in, advice out."""
    rules = cached_rules(manifest) if rules is None else rules
    return evaluate(build_situation(facts, manifest), rules, manifest)
