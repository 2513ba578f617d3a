"""The typed vocabulary the rules reason over: what we know about the model, the device, the budget and the data.

Why pydantic with `extra="forbid"`: a facts file with a misspelt field or a bad value is refused with the field's
name instead of being silently ignored, and `Facts.model_json_schema()` documents the vocabulary for free.

`None` always means "not known yet". The advisor never guesses an unknown into a default: it asks (see the rules in
`rules/questions/`). Numbers are in the units their names say (`_mb` = megabytes of 10^6 bytes, `_ms` =
milliseconds, `_pts` = percentage points of accuracy: 1.0 means 99.4 % -> 98.4 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.advisor.errors import AdvisorError, first_validation_error

FACTS_SCHEMA_VERSION = 1

WeightDtype = Literal["fp32", "fp16", "bf16", "int8", "int4", "mixed", "unknown"]
ArchFamily = Literal["cnn", "transformer", "rnn", "mlp", "classical", "other", "unknown"]
InputKind = Literal["image", "text", "audio", "tabular", "timeseries", "other", "unknown"]
Task = Literal[
    "classification", "detection", "segmentation", "regression", "embedding", "generation", "other", "unknown"
]
Stage = Literal["feasibility", "architecture_only", "trained", "pre_ship"]
LatencySource = Literal["device", "host", "estimate", "proxy", "none"]
Expertise = Literal["novice", "intermediate", "expert"]
DeviceKind = Literal["cpu", "gpu", "npu", "mcu", "unknown"]
DeviceClass = Literal["desktop", "laptop", "server", "phone", "sbc", "embedded_gpu", "mcu", "unknown"]
Precision = Literal["fp32", "fp16", "bf16", "int8", "int4", "palette"]
CpuArch = Literal["x86", "arm", "other", "unknown"]
# The CPU instructions that make int8 math fast: VNNI (VPDPBUSD) and AMX on x86; SDOT/UDOT (dot-product) and
# SMMLA/UMMLA (i8mm, int8 matrix multiply) on Arm.
Int8Instruction = Literal["vnni", "amx", "dotprod", "i8mm"]
LatencyStatistic = Literal["median", "p90", "worst_case"]


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerFact(_Facts):
    """One of the largest layers: where the size (and, when profiled, the time) sits."""

    name: str
    op_type: str
    parameters: int = Field(ge=0)
    parameter_share: float = Field(ge=0.0, le=1.0, description="Share of all parameters in this layer")
    time_share: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of profiled time, if profiled")


class ModelFacts(_Facts):
    """What the original model is: size, structure, and its own measured numbers (the baseline)."""

    name: str = ""
    size_mb: float | None = Field(default=None, ge=0.0, description="File size of the original model, MB")
    parameters: int | None = Field(default=None, ge=0)
    weight_dtype: WeightDtype = Field(default="unknown", description="Storage precision of most weights")
    arch_family: ArchFamily = "unknown"
    input_kind: InputKind = "unknown"
    task: Task = "unknown"
    op_types: list[str] = Field(default_factory=list, description="Distinct ONNX op types in the graph")
    op_count: int | None = Field(default=None, ge=0)
    macs: int | None = Field(default=None, ge=0, description="Multiply-accumulates per inference at batch 1")
    matmul_param_share: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of parameters in MatMul/Gemm"
    )
    conv_param_share: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of parameters in Conv")
    embedding_param_share: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of parameters in tables read by Gather (embeddings)"
    )
    matmul_time_share: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of profiled time in MatMul/Gemm"
    )
    conv_time_share: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of profiled time in Conv")
    largest_layers: list[LayerFact] = Field(default_factory=list, description="Largest layers first")
    unsupported_ops: list[str] = Field(
        default_factory=list,
        description="Ops of this model the target cannot run natively (the advisor adds the ones it knows)",
    )
    cast_ops: int | None = Field(default=None, ge=0, description="Cast (dtype conversion) nodes in the graph")
    activation_peak_mb: float | None = Field(
        default=None, ge=0.0, description="Largest activation tensor at batch 1, MB"
    )
    profile_stale: bool | None = Field(default=None, description="The architecture changed since the last profile")
    latency_ms: float | None = Field(default=None, gt=0.0, description="Measured median latency of the original")
    latency_source: LatencySource = Field(default="none", description="Where latency_ms comes from")
    peak_memory_mb: float | None = Field(default=None, gt=0.0, description="Measured peak memory of the original")
    accuracy: float | None = Field(default=None, ge=0.0, le=1.0, description="Task accuracy of the original (0..1)")


class TargetFacts(_Facts):
    """The device as the rules see it. Usually filled from a profile in `rules/targets/` (see `target_id`)."""

    id: str = "unknown"
    name: str = "an unspecified device"
    known: bool = Field(default=True, description="False only for the placeholder used when no target is chosen")
    kind: DeviceKind = "unknown"
    device_class: DeviceClass = "unknown"
    is_this_computer: bool = False
    cpu_arch: CpuArch = Field(default="unknown", description="The CPU's instruction set family (CPU targets)")
    int8_instructions: list[Int8Instruction] = Field(
        default_factory=list, description="int8 dot-product instructions the CPU has (empty = none or not a CPU)"
    )
    memory_mb: float | None = Field(default=None, gt=0.0, description="RAM a model can realistically use, MB")
    storage_mb: float | None = Field(default=None, gt=0.0, description="Storage for the model file, MB")
    peak_gflops_fp32: float | None = Field(default=None, gt=0.0)
    peak_gflops_fp16: float | None = Field(default=None, gt=0.0)
    peak_gops_int8: float | None = Field(default=None, gt=0.0)
    bandwidth_gbps: float | None = Field(default=None, gt=0.0, description="Memory bandwidth, GB/s")
    precisions: list[Precision] = Field(default_factory=list, description="Weight formats it can run natively")
    int8_accelerated: bool = Field(default=False, description="int8 x int8 math is clearly faster than float here")
    fp16_accelerated: bool = Field(default=False, description="fp16 math is faster than fp32 here (not just smaller)")
    sparse_accelerated: bool = Field(default=False, description="Zeros in weights are skipped in compute")
    sparsity_patterns: list[str] = Field(default_factory=list, description="Sparsity it can use, e.g. '2:4'")
    sparse_min_sparsity: float | None = Field(default=None, ge=0.0, le=1.0)
    dynamic_quantization: bool = Field(default=False, description="Runtime can quantize activations on the fly")
    palettized_weights_native: bool = Field(
        default=False, description="Runs palettized weights without expanding them first"
    )
    decompresses_weights_at_load: bool = Field(
        default=True, description="Compressed weights are expanded to float before compute"
    )
    unsupported_ops: list[str] = Field(default_factory=list, description="Ops it cannot run (they fall back or fail)")
    latency_overhead_ms: float = Field(default=0.02, ge=0.0, description="Fixed cost per inference for estimates")
    op_overhead_us: float = Field(default=2.0, ge=0.0, description="Fixed cost per op for estimates")


class BudgetFacts(_Facts):
    """What the model must fit into. None = not set; the papers give no default, so the advisor asks."""

    latency_ms: float | None = Field(default=None, gt=0.0)
    latency_statistic: LatencyStatistic | None = Field(
        default=None, description="Is the latency budget typical or a hard limit"
    )
    size_mb: float | None = Field(default=None, gt=0.0, description="Largest acceptable model file, MB")
    peak_memory_mb: float | None = Field(default=None, gt=0.0)
    power_mw: float | None = Field(default=None, gt=0.0)
    accuracy_drop_pts: float | None = Field(
        default=None, ge=0.0, description="Largest acceptable absolute accuracy drop, percentage points"
    )
    max_disagreement_pct: float | None = Field(
        default=None, ge=0.0, le=100.0, description="Largest acceptable share of inputs whose answer changes, %"
    )
    min_speedup: float | None = Field(
        default=None,
        gt=0.0,
        description="Least acceptable speed-up over the original, timed side by side with it (1 = never slower)",
    )
    min_cosine: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Lowest acceptable mean cosine similarity of the outputs with the original's (fidelity without labels)",
    )


class DataFacts(_Facts):
    """Which data and training the user has. None = not asked yet."""

    has_eval_set: bool | None = None
    eval_labelled: bool | None = None
    eval_samples: int | None = Field(default=None, ge=0)
    has_subgroup_labels: bool | None = None
    classes_imbalanced: bool | None = None
    calibration_samples: int | None = Field(default=None, ge=0, description="Representative inputs for calibration")
    calibration_matches_production: bool | None = Field(default=None, description="Calibration drawn like real inputs")
    has_training_data: bool | None = None
    has_unlabelled_in_domain: bool | None = None
    training_time_budget_h: float | None = Field(
        default=None, ge=0.0, description="Hours of training the user can afford"
    )
    torch_model_available: bool | None = Field(default=None, description="The model exists in PyTorch, not only ONNX")


class UserFacts(_Facts):
    expertise: Expertise = "novice"


class CandidateFacts(_Facts):
    """One compressed candidate and what measuring it showed, relative to the original."""

    id: str
    label: str = ""
    techniques: list[str] = Field(default_factory=list, description="Technique ids in the order applied")
    bits: int | None = Field(default=None, ge=1, le=32, description="Lowest weight bits used")
    training_aware: bool | None = None
    quantizes_activations: bool | None = None
    size_mb: float | None = Field(default=None, ge=0.0)
    latency_ms: float | None = Field(default=None, gt=0.0)
    peak_memory_mb: float | None = Field(default=None, gt=0.0)
    size_ratio: float | None = Field(default=None, ge=0.0, description="Candidate size / original size")
    latency_ratio: float | None = Field(default=None, ge=0.0, description="Candidate latency / original latency")
    peak_memory_ratio: float | None = Field(default=None, ge=0.0)
    accuracy_drop_pts: float | None = Field(default=None, description="Original accuracy minus candidate's, points")
    agreement: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of inputs with the same top-1 answer"
    )
    cosine_mean: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Mean cosine similarity of the outputs with the original's"
    )
    max_subgroup_drop_pts: float | None = None
    worst_subgroup: str | None = None
    latency_source: LatencySource = "none"
    metrics: list[str] = Field(default_factory=list, description="Names of the metrics measured")
    range_anomalies: list[str] = Field(
        default_factory=list, description="Layers whose value ranges left the original's"
    )
    range_checked: bool = Field(default=False, description="The layer-by-layer range check ran on this candidate")
    op_types: list[str] = Field(
        default_factory=list, description="Op types in the candidate's graph (empty = not recorded)"
    )


class ResultsFacts(_Facts):
    candidates: list[CandidateFacts] = Field(default_factory=list)
    sensitivity_done: bool = False
    sensitive_layers: list[str] = Field(default_factory=list, description="Most sensitive layers first")


class Facts(_Facts):
    """Everything the advisor is told. Serialised as a facts file (`shrinkwise advise --facts FILE`)."""

    schema_version: int = Field(default=FACTS_SCHEMA_VERSION, ge=1, le=FACTS_SCHEMA_VERSION)
    stage: Stage = "trained"
    target_id: str | None = Field(default=None, description="A profile in rules/targets/, or 'this-computer'")
    target: TargetFacts | None = Field(default=None, description="A full custom target (wins over target_id)")
    also_targets: list[str] = Field(default_factory=list, description="Other devices the same model must run on")
    device_available: bool | None = Field(default=None, description="The user can run things on the real device")
    model: ModelFacts = Field(default_factory=ModelFacts)
    budget: BudgetFacts = Field(default_factory=BudgetFacts)
    data: DataFacts = Field(default_factory=DataFacts)
    user: UserFacts = Field(default_factory=UserFacts)
    results: ResultsFacts = Field(default_factory=ResultsFacts)


def parse_facts(raw: Any, where: str = "facts") -> Facts:
    """Validate a facts document; any problem becomes a one-line `AdvisorError` naming the field."""
    if not isinstance(raw, dict):
        raise AdvisorError("expected a JSON object with the facts", where=where)
    try:
        return Facts.model_validate(raw)
    except ValidationError as exc:
        raise AdvisorError(
            first_validation_error(exc, Facts), where=where, fix="see 'shrinkwise advise --facts-schema'"
        ) from None


def load_facts_file(path: Path | str) -> Facts:
    """Read a facts JSON file written by hand or by `workspace.facts`."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AdvisorError("no such facts file", where=str(path)) from None
    except json.JSONDecodeError as exc:
        raise AdvisorError(f"is not valid JSON (line {exc.lineno}, column {exc.colno})", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdvisorError(f"cannot be read ({exc.__class__.__name__})", where=str(path)) from None
    return parse_facts(raw, where=str(path))


def facts_json_schema() -> dict[str, Any]:
    return Facts.model_json_schema()
