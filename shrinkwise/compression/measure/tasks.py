"""What each output means, and the fidelity number that fits it.

Why: one recipe for every model scored only output 0 and read any 2-D output as class scores. A (N,1) probability
then got cosine 1.0 while 11 % of its decisions flipped, a box-regression output listed first hid the class scores,
and an embedding was scored by argmax. Each output now gets a task (inferred from its name, shape and values, with
the reason shown, or declared by the user), every output is scored by its task's metrics, and one output, the
primary, gives the headline number that candidates are compared on and the sensitivity analysis ranks layers by.

Every metric here is "higher is better" or says otherwise in its name (`relative_error`, `mean_abs_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.io_spec import OutputSpec, OutputTask
from shrinkwise.compression.measure.quality import (
    ClassificationMetrics,
    classification_metrics,
    cosine_per_sample,
    sqnr_db,
)

# The headline metric of a primary output of each task: the first one measured counts (accuracy needs labels).
HEADLINE: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "top1_agreement"),
    "binary": ("accuracy", "decision_agreement"),
    "embedding": ("cosine_mean",),
    "regression": ("value_fidelity",),
    "sequence": ("frame_cosine_mean",),
}
# Which output is primary: the first classification/binary output (labels score it), else the first scored one.
PRIMARY_ORDER = ("classification", "binary", "embedding", "sequence", "regression")
NEIGHBOUR_SAMPLES = 2000  # nearest-neighbour agreement compares all pairs: cap the quadratic cost
SQNR_CAP_DB = 200.0  # identical outputs have infinite SQNR; JSON cannot hold it

REGRESSION_WORDS = ("box", "bbox", "loc", "coord", "landmark", "offset", "delta", "regress", "depth", "pitch", "f0")
EMBEDDING_WORDS = ("emb", "feature", "vector", "pool", "sentence", "encod", "dvector", "xvector")
CLASS_WORDS = ("logit", "score", "class", "cls", "prob", "conf", "label", "pred", "softmax")


class OutputQuality(BaseModel):
    """One output's task, why, and its fidelity (and accuracy, for the labelled primary output)."""

    model_config = ConfigDict(extra="forbid")

    output: str
    task: OutputTask
    reason: str
    declared: bool = False
    threshold: float | None = None
    sample_shape: list[int] = Field(default_factory=list, description="One sample's shape, samples axis removed")
    primary: bool = False
    metrics: dict[str, float] = Field(default_factory=dict)


@dataclass
class TaskChoice:
    task: str
    reason: str
    threshold: float | None = None
    declared: bool = False


def _has(name: str, words: tuple[str, ...]) -> str | None:
    low = name.lower()
    return next((w for w in words if w in low), None)


def infer_task(
    name: str, reference: np.ndarray, labels: np.ndarray | None = None, state_outputs: dict[str, str] | None = None
) -> TaskChoice:
    """The task of output `name` from its samples-first `reference` values (and labels, if any), with a reason."""
    state_outputs = state_outputs or {}
    if name in state_outputs:
        return TaskChoice(
            "state", f"output '{name}' returns the state input '{state_outputs[name]}' → recurrent state, fidelity only"
        )
    n = len(reference)
    sample = list(reference.shape[1:])
    width = int(np.prod(sample)) if sample else 1
    shown = "(" + ", ".join(["N", *map(str, sample)]) + ")"
    if not np.issubdtype(reference.dtype, np.floating):
        if width == 1:
            return TaskChoice("classification", f"output '{name}' {shown} holds integer class ids → agreement of ids")
        return TaskChoice("ignore", f"output '{name}' {shown} holds several integers per sample → not scored")
    flat = reference.reshape(n, -1).astype(np.float64)
    if width == 1:
        if n and float(flat.min()) >= 0.0 and float(flat.max()) <= 1.0:
            return TaskChoice(
                "binary", f"output '{name}' is {shown} with values in [0, 1] → binary probability, threshold 0.5", 0.5
            )
        if _has(name, ("logit",)):
            return TaskChoice("binary", f"output '{name}' {shown} is named a logit → binary decision, threshold 0", 0.0)
        return TaskChoice("regression", f"output '{name}' {shown} is one value per sample outside [0, 1] → regression")
    if len(sample) >= 2:
        return TaskChoice("sequence", f"output '{name}' {shown} has frames of {sample[-1]} values → per-frame fidelity")
    if word := _has(name, REGRESSION_WORDS):
        return TaskChoice("regression", f"output '{name}' {shown} is named '{word}…' → regression of its values")
    if word := _has(name, EMBEDDING_WORDS):
        return TaskChoice("embedding", f"output '{name}' {shown} is named '{word}…' → embedding: cosine, neighbours")
    if labels is not None and len(labels) == n and n and 0 <= int(labels.min()) and int(labels.max()) < width:
        return TaskChoice("classification", f"labels 'y' fit the {width} columns of '{name}' {shown} → class scores")
    if labels is not None and len(labels) == n and n and int(labels.max()) >= width and not _has(name, CLASS_WORDS):
        return TaskChoice(
            "regression",
            f"labels 'y' go up to {int(labels.max())}, past the {width} columns of '{name}' {shown} → not the "
            "labelled class scores; regression of its values",
        )
    rows = flat.sum(axis=1)
    if n and float(flat.min()) >= 0.0 and np.allclose(rows, 1.0, atol=1e-3):
        return TaskChoice("classification", f"the rows of '{name}' {shown} are probabilities summing to 1 → classes")
    if word := _has(name, CLASS_WORDS):
        return TaskChoice("classification", f"output '{name}' {shown} is named '{word}…' → class scores (top-1)")
    norms = np.linalg.norm(flat, axis=1)
    if n and np.allclose(norms, 1.0, atol=1e-3):
        return TaskChoice("embedding", f"the rows of '{name}' {shown} have unit length → embedding")
    return TaskChoice(
        "classification",
        f"output '{name}' {shown} has {width} scores per sample → class scores (top-1); declare embedding or "
        "regression if they are not",
    )


def choose_task(
    name: str,
    reference: np.ndarray,
    declared: OutputSpec | None,
    labels: np.ndarray | None,
    state_outputs: dict[str, str],
) -> TaskChoice:
    """The user's declaration where there is one, else `infer_task`."""
    if declared is not None and declared.task is not None:
        threshold = declared.threshold if declared.task == "binary" else None
        extra = f", threshold {threshold:g}" if threshold is not None else ""
        return TaskChoice(declared.task, f"output '{name}' declared {declared.task}{extra}", threshold, declared=True)
    return infer_task(name, reference, labels, state_outputs)


@dataclass
class OutputScore:
    metrics: dict[str, float]
    disagreements: list[int] = field(default_factory=list)
    classes: ClassificationMetrics | None = None  # per-class results, where labels score this output
    predictions: np.ndarray | None = None  # the candidate's class decisions, for per-subgroup accuracy


def _decisions(task: str, values: np.ndarray, threshold: float | None) -> np.ndarray:
    flat = values.reshape(len(values), -1)
    if task == "binary":
        return (flat[:, 0] >= (0.5 if threshold is None else threshold)).astype(np.int64)
    if flat.shape[1] == 1:  # integer class ids
        return flat[:, 0].astype(np.int64)
    return flat.argmax(axis=1)


def nearest_neighbours(vectors: np.ndarray) -> np.ndarray:
    """Each row's most cosine-similar other row."""
    v = vectors.reshape(len(vectors), -1).astype(np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-30)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(axis=1)


def score_output(
    task: str,
    reference: np.ndarray,
    candidate: np.ndarray,
    labels: np.ndarray | None = None,
    threshold: float | None = None,
) -> OutputScore:
    """Fidelity of `candidate` to `reference` (both samples-first) under `task`; accuracy too where labels fit."""
    ref = reference.astype(np.float64)
    cand = candidate.astype(np.float64)
    n = len(ref) if ref.ndim else 0  # a 0-d output (a scalar) has no samples: its fidelity only
    metrics: dict[str, float] = {"sqnr_db": min(sqnr_db(ref, cand), SQNR_CAP_DB)}
    out = OutputScore(metrics=metrics)
    if n == 0 or task == "ignore":
        return out
    width = int(np.prod(ref.shape[1:])) if ref.ndim > 1 else 1
    if width > 1:
        cos = cosine_per_sample(ref, cand)
        metrics["cosine_mean"], metrics["cosine_min"] = float(np.mean(cos)), float(np.min(cos))
    if task in ("classification", "binary"):
        a, b = _decisions(task, ref, threshold), _decisions(task, cand, threshold)
        key = "top1_agreement" if task == "classification" else "decision_agreement"
        metrics[key] = float(np.mean(a == b))
        out.disagreements = np.nonzero(a != b)[0].tolist()
        if task == "binary":
            metrics["mean_abs_error"] = float(np.mean(np.abs(ref - cand)))
        if labels is not None and len(labels) == n:
            out.classes = cm = classification_metrics(labels, b)
            out.predictions = b
            metrics["accuracy"], metrics["macro_f1"] = cm.accuracy, cm.macro_f1
    elif task == "embedding":
        m = min(n, NEIGHBOUR_SAMPLES)
        if m >= 3:
            a, b = nearest_neighbours(ref[:m]), nearest_neighbours(cand[:m])
            metrics["nn_agreement"] = float(np.mean(a == b))
            out.disagreements = np.nonzero(a != b)[0].tolist()
    elif task == "regression":
        norm = float(np.linalg.norm(ref))
        rel = float(np.linalg.norm(ref - cand)) / norm if norm > 0 else float(np.linalg.norm(ref - cand) > 0)
        metrics["relative_error"] = rel
        metrics["value_fidelity"] = max(0.0, 1.0 - rel)
        metrics["mean_abs_error"] = float(np.mean(np.abs(ref - cand)))
    elif task == "sequence":
        frames = ref.shape[-1]
        cos = cosine_per_sample(ref.reshape(-1, frames), cand.reshape(-1, frames))
        metrics["frame_cosine_mean"], metrics["frame_cosine_min"] = float(np.mean(cos)), float(np.min(cos))
    if "cosine_mean" not in metrics and task in ("binary", "regression"):
        # One value per sample: a per-sample cosine is only its sign; compare the whole evaluation vector instead.
        metrics["cosine_mean"] = float(cosine_per_sample(ref.reshape(1, -1), cand.reshape(1, -1))[0])
    return out


def headline_metric(task: str, metrics: dict[str, float]) -> str | None:
    return next((m for m in HEADLINE.get(task, ()) if m in metrics), None)


def primary_output(tasks: dict[str, str]) -> str | None:
    """The output whose number is the headline: the first of the most task-like kind."""
    for kind in PRIMARY_ORDER:
        for name, task in tasks.items():
            if task == kind:
                return name
    return None
