"""The GUI's bridge to the advisor: facts from the session, advice with cached rules, answers back into the project.

Why cached rules: loading and compiling every rule takes ~0.4 s, evaluating them ~3 ms. The rules are loaded once
(off the UI thread, `warm_up`) and the advice is then recomputed on the UI thread at once after every answer.

Facts come from `workspace.facts` (the workspace's translation of a project). The project keeps:
  project.target  = {"id": "<target id>"}                       (rules/targets/*.yaml or "this-computer")
  project.budget  = {latency_ms, latency_statistic, size_mb, peak_memory_mb, accuracy_drop_pts, max_disagreement_pct}
  project.answers = {"<fact path>": value}  e.g. {"data.has_training_data": true, "device_available": false}
Answers about the budget or the target go to `budget` / `target` (so the Target page and the questions agree).
"""

from __future__ import annotations

import threading
from typing import Any

from shrinkwise.compression.profile_types import ModelProfile

_RULES: list[Any] | None = None
_RULES_LOCK = threading.Lock()


def warm_up() -> int:
    """Load and compile the rules (slow, once); safe to call from a worker thread."""
    return len(rules())


def rules() -> list[Any]:
    global _RULES
    with _RULES_LOCK:
        if _RULES is None:
            from shrinkwise.advisor.rules import load_rules
            from shrinkwise.compression.catalog import load_catalog

            _RULES = load_rules(load_catalog())
        return _RULES


def result_rule_ids() -> set[str]:
    """Rules that read finished candidates (shown as the advisor's reading on the Compare page)."""
    return {r.id for r in rules() if r.category in ("results", "evaluation")}


def rules_ready() -> bool:
    return _RULES is not None


# --- targets -------------------------------------------------------------------------------------------------------


def targets() -> dict[str, Any]:
    from shrinkwise.advisor.targets import all_targets

    return all_targets()


def capabilities_in_words(t: Any) -> list[tuple[str, bool]]:
    """Plain sentences about a device, each with whether it is good news for compression."""
    out: list[tuple[str, bool]] = []
    out.append(
        (
            "Runs int8 math fast: int8 models can be quicker here"
            if t.int8_accelerated
            else "No fast int8 math: int8 saves space, but may not run faster",
            bool(t.int8_accelerated),
        )
    )
    out.append(
        (
            "Runs float16 math fast"
            if t.fp16_accelerated
            else "No float16 speed-up: float16 halves the size, not the time",
            bool(t.fp16_accelerated),
        )
    )
    out.append(
        (
            "Skips zero weights (sparse speed-up"
            + (f", {', '.join(t.sparsity_patterns)}" if t.sparsity_patterns else "")
            + ")"
            if t.sparse_accelerated
            else "No sparse speed-up: pruned zeros save space only when compressed",
            bool(t.sparse_accelerated),
        )
    )
    if "int8" in t.precisions:
        out.append(
            (
                "Quantizes activations on the fly (dynamic int8 works)"
                if t.dynamic_quantization
                else "No on-the-fly quantization: int8 needs calibration data",
                bool(t.dynamic_quantization),
            )
        )
    if t.memory_mb:
        out.append((f"About {_mb(t.memory_mb)} of memory for the model", True))
    if t.storage_mb:
        out.append((f"About {_mb(t.storage_mb)} of storage", True))
    if t.precisions:
        out.append(("Runs these weight formats natively: " + ", ".join(t.precisions), True))
    if t.unsupported_ops:
        out.append(("Cannot run: " + ", ".join(t.unsupported_ops[:8]), False))
    return out


def _mb(v: float) -> str:
    return f"{v / 1000:.3g} GB" if v >= 1000 else f"{v:.3g} MB"


def target_id(project: Any) -> str | None:
    t = project.target or {}
    tid = t.get("id") or t.get("target_id")
    return str(tid) if tid else None


# --- facts ---------------------------------------------------------------------------------------------------------


def build_facts(session: Any, profile: ModelProfile | None = None) -> Any:
    """The advisor's facts for this session, from `workspace.facts` (the one translation of a project)."""
    from shrinkwise.workspace.facts import build_facts as _build

    return _build(session.project, session.path, profile)


# --- advice --------------------------------------------------------------------------------------------------------


def compute_advice(session: Any, profile: ModelProfile | None = None) -> Any:
    """Advice for the session as it is now (fast once the rules are loaded)."""
    from shrinkwise.advisor.engine import advise
    from shrinkwise.compression.catalog import load_catalog

    return advise(build_facts(session, profile), load_catalog(), rules())


# --- answers -------------------------------------------------------------------------------------------------------


def fact_kind(fact: str) -> str:
    """'target', 'choice', 'bool', 'int' or 'float': which widget answers a question about `fact`."""
    if fact in ("target.id", "target_id"):
        return "target"
    from shrinkwise.advisor.facts import Facts

    model: Any = Facts
    annotation: Any = None
    for part in fact.split("."):
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return "float"
        annotation = fields[part].annotation
        model = annotation
    text = str(annotation)
    if "Literal" in text:
        return "choice"
    if "bool" in text:
        return "bool"
    if "int" in text and "float" not in text:
        return "int"
    return "float"


def apply_answer(project: Any, fact: str, value: Any) -> None:
    """Store an answer where the facts are read from: the target, the budget, or the answers."""
    if fact in ("target.id", "target_id"):
        project.target = {"id": str(value)}
        return
    if fact.startswith("budget."):
        budget = dict(project.budget or {})
        budget[fact.split(".", 1)[1]] = value
        project.budget = budget
        return
    answers = dict(project.answers or {})
    answers[fact] = value
    project.answers = answers


def confidence_words(confidence: str) -> str:
    from shrinkwise.advisor.provenance import CONFIDENCE_WORDS

    return CONFIDENCE_WORDS.get(confidence, confidence)
