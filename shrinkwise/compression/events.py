"""Typed events that a technique yields while it works.

The worker process writes each as one JSON line on stdout; the runner parses them back with `parse_event`.
Techniques yield at least once per layer, batch or epoch so that cancel stays prompt.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shrinkwise.compression.results import RunResult, StepResult


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Progress(_Event):
    kind: Literal["progress"] = "progress"
    fraction: float = Field(ge=0.0, le=1.0)
    message: str = ""


class MetricPoint(_Event):
    """One point of a live curve (training loss, calibration progress, quality per level)."""

    kind: Literal["metric"] = "metric"
    series: str
    step: float
    value: float


class LogLine(_Event):
    kind: Literal["log"] = "log"
    level: Literal["debug", "info", "warning", "error"] = "info"
    text: str


class StepEvent(_Event):
    """One recipe step finished and was measured; sent before the next step starts."""

    kind: Literal["step"] = "step"
    index: int
    payload: StepResult


class ResultEvent(_Event):
    """The worker's final word on success: every step's result."""

    kind: Literal["result"] = "result"
    payload: RunResult


class ErrorEvent(_Event):
    """The worker's final word on failure, one line for the user plus optional details."""

    kind: Literal["error"] = "error"
    message: str
    details: str = ""


Event = Annotated[Progress | MetricPoint | LogLine | StepEvent | ResultEvent | ErrorEvent, Field(discriminator="kind")]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str) -> Event:
    """Parse one JSON line written by a worker."""
    return _EVENT_ADAPTER.validate_json(line)


def dump_event(event: _Event) -> str:
    return event.model_dump_json()
