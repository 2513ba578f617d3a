"""Score every output of a candidate by its task, and turn the primary output's numbers into measurements.

Why apart from `tasks`: `tasks` knows what one output means and how to score it; this module knows the model: which
outputs carry recurrent state (from the data spec), which one is primary, where the labels apply, and which number
is the headline (flagged `details["headline"]`, so `workspace.figures.quality_metric` never has to guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.io_spec import IOSpec, resolve_inputs
from shrinkwise.compression.measure.quality import subgroup_accuracy
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.tasks import (
    OutputQuality,
    TaskChoice,
    choose_task,
    headline_metric,
    primary_output,
    score_output,
)
from shrinkwise.compression.signature import InputSignature

MAX_DISAGREEMENTS_KEPT = 200
# Measured for the primary output under these plain names (what the advisor, reports and budgets read).
PLAIN_ORDER = (
    "accuracy",
    "macro_f1",
    "top1_agreement",
    "decision_agreement",
    "nn_agreement",
    "value_fidelity",
    "relative_error",
    "frame_cosine_mean",
    "frame_cosine_min",
    "mean_abs_error",
    "sqnr_db",
    "cosine_mean",
    "cosine_min",
)


@dataclass
class ScoredOutputs:
    outputs: list[OutputQuality]
    primary: str | None
    details: dict[str, Any] = field(default_factory=dict)  # QualityDetails fields: disagreements, per class, ...

    def measurements(self, source: str, samples: int) -> list[Measurement]:
        """The primary output's metrics as measurements; the headline one says so in its details."""
        q = next((o for o in self.outputs if o.output == self.primary), None)
        if q is None:  # nothing scored by a task (all state, or ignored): keep plain fidelity of the first output
            q = next((o for o in self.outputs if o.metrics), None)
            if q is None:
                return []
        headline = headline_metric(q.task, q.metrics) if q.output == self.primary else None
        base = {"samples": samples, "data": source, "output": q.output, "task": q.task}
        out = []
        for name in PLAIN_ORDER:
            if name not in q.metrics:
                continue
            details = dict(base)
            if name == "sqnr_db":
                details["note"] = "200 means identical outputs"
            if name == headline:
                details["headline"] = True
            if name == "cosine_mean" and q.sample_shape in ([], [1]):
                details["note"] = "one value per sample: cosine of all samples' values taken as one vector"
            unit = "dB" if name == "sqnr_db" else ""
            out.append(Measurement(metric=name, value=q.metrics[name], unit=unit, details=details))
        return out


def state_outputs(signature: InputSignature, io: IOSpec | None) -> dict[str, str]:
    """Output name -> the state input it carries (declared or inferred from the shapes)."""
    return {
        r.carried_from: name
        for name, r in resolve_inputs(signature, io).items()
        if r.kind == "state" and r.carried_from is not None
    }


def score_outputs(
    reference: dict[str, np.ndarray],
    candidate: dict[str, np.ndarray],
    evaluation: Dataset,
    signature: InputSignature,
    io: IOSpec | None = None,
) -> ScoredOutputs:
    """Every output's task (with the reason) and metrics; labels score the primary output only."""
    io = io or IOSpec()
    n = len(evaluation)
    labels = evaluation.labels
    carried = state_outputs(signature, io)
    choices: dict[str, TaskChoice] = {}
    for name, ref in reference.items():
        if ref.ndim == 0 or ref.shape[0] != n:
            choices[name] = TaskChoice("ignore", f"output '{name}' {list(ref.shape)} has no samples axis → not scored")
            continue
        choices[name] = choose_task(name, ref, io.outputs.get(name), labels, carried)
    primary = primary_output({k: c.task for k, c in choices.items()})
    outputs: list[OutputQuality] = []
    details: dict[str, Any] = {}
    for name, choice in choices.items():
        ref, cand = reference[name], candidate.get(name)
        q = OutputQuality(
            output=name,
            task=choice.task,  # type: ignore[arg-type]
            reason=choice.reason,
            declared=choice.declared,
            threshold=choice.threshold,
            sample_shape=[int(d) for d in ref.shape[1:]] if choice.task != "ignore" else [int(d) for d in ref.shape],
            primary=name == primary,
        )
        if cand is not None and cand.shape == ref.shape and not evaluation.generated:
            use_labels = labels if name == primary and choice.task in ("classification", "binary") else None
            score = score_output(choice.task, ref, cand, use_labels, choice.threshold)
            q.metrics = {k: float(v) for k, v in score.metrics.items() if np.isfinite(v)}
            if name == primary:
                details["disagreements"] = score.disagreements[:MAX_DISAGREEMENTS_KEPT]
                if score.classes is not None and score.predictions is not None and labels is not None:
                    cm = score.classes
                    details["per_class_accuracy"] = {str(k): v for k, v in cm.per_class_accuracy.items()}
                    details["per_class_f1"] = {str(k): v for k, v in cm.per_class_f1.items()}
                    if evaluation.groups is not None:
                        details["per_subgroup_accuracy"] = subgroup_accuracy(
                            labels, score.predictions, evaluation.groups
                        )
        outputs.append(q)
    return ScoredOutputs(outputs=outputs, primary=primary, details=details)
