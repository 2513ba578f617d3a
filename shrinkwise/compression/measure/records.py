"""The measurement record shared by the engine, the project file, the advisor's facts and the reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["host", "device", "estimate"]


class Measurement(BaseModel):
    """One number with its unit and provenance. `details` holds how it was taken (threads, repeats, runtime)."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(description="e.g. latency_ms_median, size_bytes, accuracy, sqnr_db")
    value: float = Field(allow_inf_nan=False)  # NaN/Infinity would be written as null and break the project file
    unit: str = ""
    source: Source = "host"
    details: dict[str, Any] = Field(default_factory=dict)


# The one measurement policy, the same for every metric: a number measured on the target device beats one measured
# on this computer, which beats an estimate. Everything that reads a measurement goes through `best`.
SOURCE_ORDER: tuple[Source, ...] = ("device", "host", "estimate")


def best(measurements: list[Measurement], metric: str, source: Source | None = None) -> Measurement | None:
    """The measurement of `metric` that counts under the policy above (or the one from `source`, if given)."""
    found = [m for m in measurements if m.metric == metric and (source is None or m.source == source)]
    return min(found, key=lambda m: SOURCE_ORDER.index(m.source), default=None)
