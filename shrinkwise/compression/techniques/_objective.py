"""What a training technique optimises: the primary output's task, as the measurement scores it.

Why: pruning and distillation trained every model with cross-entropy on output 0 and judged it by argmax. A (N, 1)
probability then has a single "class" (its cross-entropy is always 0, so nothing is learnt), an embedding is pushed
towards argmax classes, and a detector whose output 0 is its boxes never trains its class scores. The task of each
output comes from the code that scores it (`measure.scoring`: declared by the user, else inferred with a reason), and
the primary output's task picks the loss and the validation number:

* classification: cross-entropy to the labels (distillation adds KL to the teacher's softened scores); accuracy;
* binary: binary cross-entropy (on the probability, or on the logit when the output is not in [0, 1]); accuracy
  at the output's threshold;
* embedding, regression: mean squared error to the teacher's outputs (no labels needed); cosine, 1 − relative error.

Other tasks (sequence, state, ignore) are refused before training starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.measure.tasks import score_output

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from shrinkwise.compression.technique_api import TechniqueContext
    from shrinkwise.compression.techniques._torch_utils import Split

TRAINABLE_TASKS = ("classification", "binary", "embedding", "regression")
LABELLED_TASKS = ("classification", "binary")
PROBE_SAMPLES = 256  # training samples the original is run on to choose the tasks, as the measurement would
AGREEMENT = {"classification": "top1_agreement", "binary": "decision_agreement"}
FIDELITY = {"embedding": "cosine_mean", "regression": "value_fidelity"}
EPS = 1e-7

LossFn = Callable[["torch.Tensor", "torch.Tensor | None", "torch.Tensor"], "torch.Tensor"]  # (outputs, labels, idx)


@dataclass
class Objective:
    """The primary output, its task (with the reason it was chosen) and how to train and judge it."""

    task: str
    output: str
    index: int  # the output's position among the model's outputs (torch returns them in the ONNX order)
    reason: str
    threshold: float | None = None
    output_axis: int = 0  # where the output's samples are
    probabilities: bool = False  # binary: the output is a probability (else a logit)

    @property
    def needs_labels(self) -> bool:
        return self.task in LABELLED_TASKS

    def val_metric(self, labelled: bool) -> str:
        """The validation number: accuracy for labelled tasks, else agreement with (or fidelity to) the teacher."""
        if self.task in LABELLED_TASKS:
            return "accuracy" if labelled else AGREEMENT[self.task]
        return FIDELITY[self.task]

    def series(self, labelled: bool) -> str:
        return f"val_{self.val_metric(labelled)}"

    def score(self, outputs: np.ndarray, reference: np.ndarray, labels: np.ndarray | None) -> float:
        """The validation number of `outputs` (samples first), by the measurement's own scoring."""
        metrics = score_output(self.task, reference, outputs, labels, self.threshold).metrics
        return float(metrics[self.val_metric(labels is not None)])

    # ---- losses (torch is imported by the caller; these run inside the training loop)

    def _flat(self, out: torch.Tensor) -> torch.Tensor:
        return out.reshape(out.shape[0], -1)

    def hard_loss(self, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        if self.task == "classification":
            return F.cross_entropy(self._flat(out), labels)
        value, target = self._flat(out)[:, 0], labels.to(out.dtype)
        if self.probabilities:
            return F.binary_cross_entropy(value.clamp(EPS, 1 - EPS), target)
        return F.binary_cross_entropy_with_logits(value, target)

    def teacher_loss(self, out: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        if self.task == "classification":
            t = temperature
            return F.kl_div(
                F.log_softmax(self._flat(out) / t, dim=1),
                F.log_softmax(self._flat(teacher) / t, dim=1),
                reduction="batchmean",
                log_target=True,
            ) * (t * t)
        if self.task == "binary":
            value, soft = self._flat(out)[:, 0], self._flat(teacher)[:, 0]
            if self.probabilities:
                return F.binary_cross_entropy(value.clamp(EPS, 1 - EPS), soft.clamp(0.0, 1.0))
            return F.binary_cross_entropy_with_logits(value, torch.sigmoid(soft))
        return F.mse_loss(out, teacher)

    def fine_tune_loss(self, teacher_train: torch.Tensor) -> LossFn:
        """Fine-tuning after pruning: the labels for labelled tasks, else the unpruned model's outputs."""

        def loss(out: torch.Tensor, labels: torch.Tensor | None, idx: torch.Tensor) -> torch.Tensor:
            if self.needs_labels:
                assert labels is not None
                return self.hard_loss(out, labels)
            return self.teacher_loss(out, teacher_train[idx.to(teacher_train.device)], 1.0)

        return loss

    def distill_loss(self, teacher_train: torch.Tensor, temperature: float, alpha: float) -> LossFn:
        """alpha · teacher term + (1 − alpha) · label term; the teacher term alone for unlabelled tasks."""

        def loss(out: torch.Tensor, labels: torch.Tensor | None, idx: torch.Tensor) -> torch.Tensor:
            soft = self.teacher_loss(out, teacher_train[idx.to(teacher_train.device)], temperature)
            if not self.needs_labels:
                return soft
            assert labels is not None
            return alpha * soft + (1.0 - alpha) * self.hard_loss(out, labels)

        return loss


def find_objective(
    ctx: TechniqueContext, what: str, input_names: list[str], output_names: list[str], train: Split
) -> Objective:
    """The primary output's task, chosen by the measurement's scoring on the original's outputs for a few training
    samples (the user's declarations win); a task training cannot serve is refused in one line."""
    from shrinkwise.compression.data import Dataset
    from shrinkwise.compression.measure.evaluate import output_axes
    from shrinkwise.compression.measure.runtime import make_session, run_outputs, session_signature
    from shrinkwise.compression.measure.scoring import score_outputs

    probe = train.subset(np.arange(min(len(train), PROBE_SAMPLES)))
    data = Dataset(
        inputs=dict(zip(input_names, probe.inputs, strict=True)),
        labels=probe.labels,
        axes={name: probe.axis(i) for i, name in enumerate(input_names)},
    )
    session = make_session(ctx.onnx_path)
    reference = run_outputs(session, data, output_axes=output_axes(ctx.io))
    scored = score_outputs(reference, reference, data, session_signature(session), ctx.io)
    supported = ", ".join(TRAINABLE_TASKS)
    primary = next((q for q in scored.outputs if q.primary), None)
    fix = (
        "declare the output's task (--task OUTPUT=TASK) if it is one of those, or use a technique that works on the "
        "ONNX file alone (fp16, int8_dynamic, int8_static, int4_weight_only, palettize)"
    )
    if primary is None:
        tasks = ", ".join(f"'{q.output}' {q.task}" for q in scored.outputs) or "none"
        raise TechniqueError(
            f"{what} trains on the primary output's task, and no output has one it supports ({supported}); "
            f"outputs: {tasks}",
            fix=fix,
        )
    if primary.task not in TRAINABLE_TASKS:
        raise TechniqueError(
            f"{what} cannot train on output '{primary.output}': its task is {primary.task} ({primary.reason}); "
            f"training supports {supported}",
            fix=fix,
        )
    declared = (ctx.io.outputs.get(primary.output) if ctx.io else None) or None
    values = reference[primary.output]
    return Objective(
        task=primary.task,
        output=primary.output,
        index=output_names.index(primary.output),
        reason=primary.reason,
        threshold=primary.threshold,
        output_axis=declared.batch_axis if declared is not None and declared.batch_axis is not None else 0,
        probabilities=primary.task == "binary" and bool(values.size) and 0.0 <= values.min() and values.max() <= 1.0,
    )
