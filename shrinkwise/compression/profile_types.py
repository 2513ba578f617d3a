"""The model profile as plain data: totals, a per-layer table, and where size and time go.

Kept apart from `compression.profile` (which needs onnx/onnxruntime) so that the GUI, the workspace and the reports
can read a saved profile without importing the heavy libraries.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LayerProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    op_type: str
    parameters: int = 0
    weight_bytes: int = 0
    macs: int | None = Field(default=None, description="Multiply-accumulates at batch 1; None when shapes are unknown")
    output_bytes: int | None = Field(default=None, description="Bytes of the output activations at batch 1")
    time_us: float | None = Field(default=None, description="Median time of this node in ONNX Runtime's profiler")


class ModelProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_bytes: int
    parameters: int
    weight_bytes_by_dtype: dict[str, int]
    op_count: int
    opset: int
    ir_version: int
    layers: list[LayerProfile]
    op_histogram: dict[str, int]
    total_macs: int | None = None
    node_time_total_us: float | None = None
    timing_note: str = Field(
        default="",
        description="How per-node times were taken (e.g. optimizations off so nodes map 1:1), shown beside them",
    )
    timing_source: str = "host"

    @property
    def weight_bytes(self) -> int:
        return sum(self.weight_bytes_by_dtype.values())

    def top_by_size(self, n: int = 5) -> list[LayerProfile]:
        return sorted((l for l in self.layers if l.weight_bytes), key=lambda l: -l.weight_bytes)[:n]

    def top_by_time(self, n: int = 5) -> list[LayerProfile]:
        return sorted((l for l in self.layers if l.time_us), key=lambda l: -(l.time_us or 0.0))[:n]
