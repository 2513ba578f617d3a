"""What every technique receives and returns: its settings base, its context and data, its events, `drive`.

The contract between the techniques and the rest of the engine, outside `techniques/` so that the engine's other
parts (jobs, the worker, tests and the bench) use these types without importing a technique module.

A technique never touches the project file: it reads its inputs from a `TechniqueContext`, writes its artifact into
`ctx.out_dir`, yields events, and returns an `Artifact`. Measuring the artifact is the runner's job, so every
candidate is measured the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.events import LogLine, MetricPoint, Progress
from shrinkwise.compression.results import Artifact  # techniques import it from here, with the rest they use

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

    from shrinkwise.compression.io_spec import IOSpec

TechniqueEvent = Progress | MetricPoint | LogLine


class TechniqueConfig(BaseModel):
    """Base for every technique's settings: frozen, unknown keys refused, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(default=1, ge=1, description="Settings schema version of this technique")


@dataclass
class LabelledData:
    """Model inputs by input name with optional integer labels. `axes` says where each input's samples are
    (`compression.io_spec`; absent = axis 0, None = a constant fed whole with every batch)."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    axes: dict[str, int | None] = field(default_factory=dict)

    def __len__(self) -> int:
        from shrinkwise.compression.io_spec import sample_count

        return sample_count(self.inputs, self.axes)

    def batch(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The model feed for samples start..stop (constants whole)."""
        from shrinkwise.compression.io_spec import feed

        return feed(self.inputs, self.axes, start, stop)


@dataclass
class TechniqueContext:
    """Everything a technique may use. Missing pieces are None; a technique that needs one says so clearly."""

    onnx_path: Path
    out_dir: Path
    calibration: LabelledData | None = None
    train: LabelledData | None = None
    validation: LabelledData | None = None
    # Returns a fresh torch module with the current weights; None when the model exists only as ONNX.
    torch_model: Callable[[], torch.nn.Module] | None = None
    # Per-layer sensitivity found earlier (node name -> quality drop); used by mixed precision.
    sensitivity: dict[str, float] | None = None
    time_budget_s: float | None = None
    seed: int = 0
    started: float = field(default_factory=time.monotonic)
    # The TorchScript file an earlier training step of the same plan wrote (its Artifact.torch_model_path, resolved
    # to a full path), e.g. a structurally pruned model that distillation then trains as the student. None if none.
    previous_torch_model_path: Path | None = None
    # The project's data spec (inputs' samples axes, outputs' declared tasks): training techniques train on the
    # primary output's task, as the measurement scores it.
    io: IOSpec | None = None

    def __post_init__(self) -> None:
        # Absolute paths: quantizers run in a scratch working directory (see onnx_utils.quiet).
        self.onnx_path = Path(self.onnx_path).resolve()
        self.out_dir = Path(self.out_dir).resolve()
        if self.previous_torch_model_path is not None:
            self.previous_torch_model_path = Path(self.previous_torch_model_path).resolve()

    def over_time_budget(self) -> bool:
        return self.time_budget_s is not None and time.monotonic() - self.started > self.time_budget_s

    def torch_device(self) -> str:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


TechniqueRun = Generator[TechniqueEvent, None, Artifact]


def drive(run: TechniqueRun, on_event: Callable[[TechniqueEvent], None] | None = None) -> Artifact:
    """Run a technique's generator to its end, handing each event to `on_event`; returns the Artifact.

    The one way to consume `apply(ctx, config)`: the worker forwards the events, tests and the bench collect them.
    """
    while True:
        try:
            event = next(run)
        except StopIteration as stop:
            artifact = stop.value
            return artifact if isinstance(artifact, Artifact) else Artifact.model_validate(artifact)
        if on_event is not None:
            on_event(event)
