"""How the GUI talks about the advisor: device capabilities in words, which widget answers a question, and the
rule cache warmed off the UI thread.

Advice, answers and the decision come from the session (`Session.advise`, `Session.answer`), the same calls the
CLI makes; this module never runs the advisor itself. Why warm up: loading and compiling every rule takes ~0.4 s,
evaluating them ~3 ms, so the rules are loaded once on a worker thread and advice is then recomputed at once.
"""

from __future__ import annotations

from typing import Any

from shrinkwise.workspace.facts import advisor_ready, result_rule_ids, warm_up_advisor


def warm_up() -> int:
    """Load and compile the rules (slow, once); safe to call from a worker thread."""
    return warm_up_advisor()


def rules_ready() -> bool:
    return advisor_ready()


__all__ = ["warm_up", "rules_ready", "result_rule_ids", "targets", "capabilities_in_words", "fact_kind"]


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


def confidence_words(confidence: str) -> str:
    from shrinkwise.advisor.provenance import CONFIDENCE_WORDS

    return CONFIDENCE_WORDS.get(confidence, confidence)
