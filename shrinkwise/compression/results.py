"""What a run produces, as typed data: the artifact a technique returns, and each measured step the worker reports.

Why typed: these cross a process boundary (the worker writes them as JSON lines, the runner parses them back) and
then a layer boundary (workspace.runs records them in the project). As plain dicts they were re-read by key on the
far side, so a renamed field failed silently; as pydantic models a mismatch is an error where the data is parsed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.measure.layer_error import LayerErrorReport
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.tasks import OutputQuality


class Artifact(BaseModel):
    """The output of one technique step."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File written, relative to the run's output folder")
    format: Literal["onnx"] = "onnx"
    size_bytes: int
    summary: str = Field(description="What was done, in one sentence")
    # Storage of an encoding the runtime cannot load directly (palette indices, sparse format); None if the file is it.
    encoded_size_bytes: int | None = None
    # Honest caveats shown beside the result ("latency unchanged on ONNX Runtime: weights are de-clustered").
    notes: list[str] = Field(default_factory=list)
    # The torch model after this step (a TorchScript file, loadable without unpickling), so that a later
    # training step (distill after prune) can continue from it. None when the step works on ONNX only.
    torch_model_path: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class QualityDetails(BaseModel):
    """What one aggregate number hides: per class, per subgroup, and the inputs that changed answer."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    data_source: Literal["labelled", "unlabelled", "generated"] = "labelled"
    samples: int = 0
    per_class_accuracy: dict[str, float] = Field(default_factory=dict)
    per_class_f1: dict[str, float] = Field(default_factory=dict)
    per_subgroup_accuracy: dict[str, float] = Field(default_factory=dict)
    disagreements: list[int] = Field(
        default_factory=list, description="Evaluation indices whose answer (top-1, decision, nearest neighbour) changed"
    )
    outputs: list[OutputQuality] = Field(
        default_factory=list, description="Every output: its task, why, and its fidelity (measure.scoring)"
    )
    primary_output: str | None = Field(default=None, description="The output the headline number comes from")


class StepResult(BaseModel):
    """One recipe step, finished and measured against the original. Paths are relative to the job's out_dir."""

    model_config = ConfigDict(extra="forbid")

    technique: str
    config: dict[str, Any] = Field(description="The technique's settings as validated (defaults filled in)")
    artifact: Artifact
    measurements: list[Measurement]
    quality: QualityDetails
    # Layer-by-layer error against this step's float input, for the step the job names (`Job.layer_error_step`).
    layer_error: LayerErrorReport | None = None


class RunResult(BaseModel):
    """Everything a worker reports on success."""

    model_config = ConfigDict(extra="forbid")

    steps: list[StepResult]
    # The analysed step's layer error (also on that step); a reason instead when that step did not finish.
    layer_error: LayerErrorReport | None = None
