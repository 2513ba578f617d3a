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
