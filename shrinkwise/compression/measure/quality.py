"""Quality: task metrics where labels exist, fidelity to the original model always.

Fidelity (agreement, cosine, SQNR) needs no labels and is the first thing that moves when compression hurts, so it
is computed for every candidate. Per-subgroup metrics and the list of disagreeing inputs show what one aggregate
number hides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def sqnr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB: 10·log10(‖ref‖² / ‖ref − cand‖²). Inf when identical."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    noise = ref - np.asarray(candidate, dtype=np.float64).ravel()
    noise_power = float(np.sum(noise * noise))
    if noise_power == 0.0:
        return float("inf")
    return float(10.0 * np.log10(max(float(np.sum(ref * ref)), 1e-30) / noise_power))


def cosine_per_sample(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Cosine similarity of each sample's flattened output (samples along axis 0)."""
    a = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    b = np.asarray(candidate, dtype=np.float64).reshape(len(candidate), -1)
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.sum(a * b, axis=1)
    return np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), np.where(np.all(a == b, axis=1), 1.0, 0.0))


def is_classifier_output(output: np.ndarray) -> bool:
    """A 2-D float output with at least two columns is read as per-class scores."""
    return output.ndim == 2 and output.shape[1] >= 2 and np.issubdtype(output.dtype, np.floating)


@dataclass
class ClassificationMetrics:
    accuracy: float
    macro_f1: float
    per_class_accuracy: dict[int, float]
    per_class_f1: dict[int, float]
    support: dict[int, int]


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> ClassificationMetrics:
    labels = np.asarray(labels).astype(np.int64).ravel()
    predictions = np.asarray(predictions).astype(np.int64).ravel()
    classes = sorted(set(labels.tolist()))
    per_acc: dict[int, float] = {}
    per_f1: dict[int, float] = {}
    support: dict[int, int] = {}
    for c in classes:
        true_c = labels == c
        pred_c = predictions == c
        tp = int(np.sum(true_c & pred_c))
        support[c] = int(np.sum(true_c))
        per_acc[c] = tp / support[c] if support[c] else float("nan")
        precision = tp / int(np.sum(pred_c)) if np.any(pred_c) else 0.0
        recall = per_acc[c]
        per_f1[c] = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return ClassificationMetrics(
        accuracy=float(np.mean(labels == predictions)) if len(labels) else float("nan"),
        macro_f1=float(np.mean(list(per_f1.values()))) if per_f1 else float("nan"),
        per_class_accuracy=per_acc,
        per_class_f1=per_f1,
        support=support,
    )


@dataclass
class FidelityMetrics:
    """How closely a candidate's outputs follow the original's, without labels."""

    sqnr_db: float
    cosine_mean: float
    cosine_min: float
    top1_agreement: float | None  # None when the output is not class scores
    disagreements: list[int] = field(default_factory=list)  # sample indices whose top-1 changed


def fidelity(reference: np.ndarray, candidate: np.ndarray) -> FidelityMetrics:
    cos = cosine_per_sample(reference, candidate)
    agreement: float | None = None
    flips: list[int] = []
    if is_classifier_output(reference):
        ref_top = reference.argmax(axis=1)
        cand_top = candidate.argmax(axis=1)
        agreement = float(np.mean(ref_top == cand_top))
        flips = np.nonzero(ref_top != cand_top)[0].tolist()
    return FidelityMetrics(
        sqnr_db=sqnr_db(reference, candidate),
        cosine_mean=float(np.mean(cos)),
        cosine_min=float(np.min(cos)),
        top1_agreement=agreement,
        disagreements=flips,
    )


def subgroup_accuracy(labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Accuracy per subgroup label (groups given as strings or ints, one per sample)."""
    out: dict[str, float] = {}
    groups = np.asarray(groups)
    for g in sorted(set(groups.tolist()), key=str):
        mask = groups == g
        out[str(g)] = float(np.mean(np.asarray(labels)[mask] == np.asarray(predictions)[mask]))
    return out
