"""One row of the results table (`Session.results()`): a candidate's numbers under the one measurement policy.

Why a model: Compare, `shrinkwise results`, the autopilot's figures and the tests all read these rows; as dicts each
reader guessed keys (`row.get("size_bytes")`), and a renamed key failed silently as "–". Typed, a reader that asks
for a field that does not exist fails at once (and mypy sees it). `model_dump(mode="json")` is the JSON that
`shrinkwise results --json` prints for each candidate.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.measure.records import Source


class ResultRow(BaseModel):
    """A finished candidate (or the original) with size, latency, quality, per-class deltas and Pareto flags."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    kind: str
    group: str | None = None
    original: bool = Field(description="True for the baseline the candidates are compared with")
    size_bytes: float | None = None
    encoded_size_bytes: float | None = None
    latency_ms_median: float | None = Field(default=None, description="The candidate's own median")
    latency_source: Source | None = None
    latency_ms_p90: float | None = None
    latency_ratio: float | None = Field(default=None, description="Paired ratio to the original, timed interleaved")
    accuracy: float | None = None
    agreement: float | None = Field(default=None, description="Top-1 agreement with the original")
    sqnr_db: float | None = None
    quality_metric: str | None = Field(default=None, description="The metric `quality` is in (the same for every row)")
    quality: float | None = None
    per_class_delta: dict[str, float] = Field(default_factory=dict, description="Class -> accuracy change (0-1)")
    pareto_size: bool = False
    pareto_latency: bool = False
