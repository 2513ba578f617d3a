"""The sensitivity analysis's result as a typed model: what `workspace.runs.sensitivity` stores and every reader reads.

Why a model and not the dict it was: the CLI, the GUI panel, the report, the advisor's facts and the autopilot each
re-parsed `Experiment.extra` by guessing keys (`extra["proposal"]["keep_float"]`, `x.get("tolerance")`). Now the
analysis builds a `SensitivityResult`, stores `to_extra()` in the experiment's `extra` (the same JSON keys as
before, so projects saved by earlier versions still load) and readers call `Experiment.sensitivity_result()`. A
malformed result is one `ProjectFileError` naming the experiment and the field.

Fields added over time (per-layer SQNR, the paired latency ratio, the latency cost, `layer_error`, `not_ranked`)
have defaults, so a result recorded before they existed still parses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.compression.measure.layer_error import LayerErrorReport


class _Part(BaseModel):
    # "ignore": a key an older version wrote and a later one dropped must not stop a project from loading; a value
    # of the wrong type still does.
    model_config = ConfigDict(extra="ignore")


class VariantSummary(_Part):
    """One measured variant: its quality, the drop below the original (0-1 units of the metric), size, latency."""

    quality: float
    drop: float
    size_bytes: float | None = None
    latency_ms: float | None = None
    latency_ratio: float | None = Field(default=None, description="Paired ratio to the original (timed interleaved)")
    sqnr_db: float | None = None


class CurvePoint(VariantSummary):
    """A keep-in-float set of growing size, measured (the curve the proposal is read off)."""

    keep_float: list[str] = Field(default_factory=list)
    source: Literal["pass1", "pass2"] = "pass1"


class LayerRank(_Part):
    """One quantizable layer, ranked by how much quality it costs when quantized."""

    node: str
    op_type: str
    weight_bytes: int | None = None
    drop_alone: float = Field(description="Quality drop with only this layer quantized")
    recovery: float = Field(description="Quality won back with only this layer kept in float")
    sqnr_alone_db: float | None = None
    size_cost_bytes: float = Field(default=0.0, description="How much larger the model stays with it in float")
    latency_cost_ms: float | None = None
    activation_sqnr_db: float | None = None
    weight_sqnr_db: float | None = None


class Proposal(_Part):
    """The smallest set of layers, in order of sensitivity, whose exclusion was measured to meet the tolerance
    (or, when none did, the least-bad measured set with a `note` saying so)."""

    keep_float: list[str] = Field(default_factory=list)
    quality: float
    drop: float
    meets_tolerance: bool
    size_bytes: float | None = None
    latency_ms: float | None = None
    config: dict[str, Any] = Field(default_factory=dict, description="The technique's settings that realise it")
    note: str | None = None

    def base_config(self) -> dict[str, Any]:
        """The quantizer's own settings, kept in every variant (without the layers the proposal adds)."""
        return {k: v for k, v in self.config.items() if k != "nodes_to_exclude"}


class SensitivityResult(_Part):
    """Everything one sensitivity analysis measured and proposed."""

    technique: str
    metric: str = Field(description="The quality metric the drops are in (accuracy, top1_agreement, cosine_mean...)")
    tolerance: float = Field(description="The allowed drop, in 0-1 units of the metric (0.01 = one point)")
    original_quality: float
    sensitivity: dict[str, float] = Field(
        default_factory=dict, description="Node -> drop alone (what mixed precision and the advisor read)"
    )
    ranking: list[LayerRank] = Field(default_factory=list, description="Most sensitive first")
    all_quantized: VariantSummary
    curve: list[CurvePoint] = Field(default_factory=list)
    layer_error: LayerErrorReport | None = None
    not_ranked: list[str] = Field(
        default_factory=list, description="Recurrent layers static int8 leaves in float: not candidates"
    )
    proposal: Proposal

    @property
    def in_points(self) -> bool:
        """Drops of a 0-1 fraction metric read as percentage points; others (cosine, fidelity) as plain numbers."""
        return self.metric in ("accuracy", "top1_agreement")

    def most_sensitive(self, limit: int | None = None) -> list[tuple[str, float]]:
        """(node, drop alone), the largest drop first (ties by name, so the order is stable)."""
        items = sorted(self.sensitivity.items(), key=lambda kv: (-kv[1], kv[0]))
        return items if limit is None else items[:limit]

    def to_extra(self) -> dict[str, Any]:
        """The JSON stored in `Experiment.extra`: the keys earlier versions wrote (no `note` unless there is one)."""
        out = self.model_dump(mode="json")
        if self.proposal.note is None:
            out["proposal"].pop("note")
        if self.layer_error is None:
            out.pop("layer_error")
        return out

    @classmethod
    def from_extra(cls, extra: dict[str, Any], where: str, path: Path | str | None = None) -> SensitivityResult:
        """Parse a stored result; a malformed one is one `ProjectFileError` naming `where` and the field."""
        try:
            return cls.model_validate(extra)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            raise ProjectFileError(
                f"{where}'s sensitivity result is malformed: field '{field}': {err['msg']}",
                path,
                "run the sensitivity analysis again, or restore the project's .bak copy",
            ) from None
