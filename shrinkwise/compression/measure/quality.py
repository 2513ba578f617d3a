"""The numeric building blocks of quality: SQNR, per-sample cosine, classification and per-subgroup metrics.

Which of them an output gets depends on its task (`measure.tasks`): fidelity (agreement, cosine, SQNR) needs no
labels and is the first thing that moves when compression hurts; per-subgroup metrics show what one aggregate
number hides.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def subgroup_accuracy(labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Accuracy per subgroup label (groups given as strings or ints, one per sample)."""
    out: dict[str, float] = {}
    groups = np.asarray(groups)
    for g in sorted(set(groups.tolist()), key=str):
        mask = groups == g
        out[str(g)] = float(np.mean(np.asarray(labels)[mask] == np.asarray(predictions)[mask]))
    return out
