"""Feasibility before anyone runs anything: the gap to the budget on each metric, against what each technique can
give at best on the chosen device.

Why: a newcomer should hear "post-training compression cannot reach a 12x smaller model; consider a smaller
architecture or distillation" before waiting for runs. Latency on a device other than this computer is an analytic
roofline estimate (MACs against peak compute, bytes against bandwidth, plus fixed overheads) and is labelled so.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.advisor.facts import BudgetFacts, LatencySource, ModelFacts, TargetFacts
from shrinkwise.advisor.provenance import Provenance
from shrinkwise.advisor.yaml_io import load_yaml

Tier = Literal["post_training", "low_bit", "training", "architecture"]
SizeSource = Literal["file", "parameters", "none"]
Metric = Literal["size", "latency", "memory", "none"]
PALETTE_POST_TRAINING_BITS = 6
DTYPE_BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "int4": 4, "mixed": 32, "unknown": 32}
# Dtypes whose bits per weight are really known (mixed and unknown only default to 32 bits for the arithmetic).
KNOWN_DTYPES = ("fp32", "fp16", "bf16", "int8", "int4")
CONV_HEAVY_SHARE = 0.3  # the share of Conv weights from which dynamic int8's ConvInteger path matters
NOTHING_LEFT_SHARE = 0.02  # a technique that would shrink at most this share of the weights changes nothing
EMBEDDING_4BIT_MIN_SHARE = 0.2  # below this, 4-bit embedding tables change the file too little to be a rung


class Limits(BaseModel):
    """`rules/limits.yaml`: the best-case numbers that are not plain bit arithmetic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invasiveness: dict[str, int]
    unstructured_pruning_size_factor: float = Field(gt=1.0)
    unstructured_pruning_latency_factor: float = Field(gt=1.0)
    structured_pruning_size_factor: float = Field(gt=1.0)
    structured_pruning_latency_factor: float = Field(gt=1.0)
    training_aware_min_bits: int = Field(ge=1, le=8)
    estimate_efficiency: float = Field(gt=0.0, le=1.0)
    sources: list[Provenance] = Field(min_length=1)


@lru_cache(maxsize=1)
def load_limits() -> Limits:
    text = resources.files("shrinkwise.rules").joinpath("limits.yaml").read_text(encoding="utf-8")
    return Limits.model_validate(load_yaml(text))


class Outlook(BaseModel):
    """What one technique can give at best on this device, before running it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    technique: str
    tier: Tier
    runs_on_target: bool | None = Field(description="None = the target is not known yet, so nobody can say")
    reason: str = ""
    note: str = Field(default="", description="Why an estimate is missing or limited, in words")
    size_factor: float | None = Field(default=None, description="Original size / best-case size; None = unbounded")
    latency_ms: float | None = Field(default=None, description="Roofline estimate on the target, best case")


class Feasibility(BaseModel):
    """Gaps (current / budget; above 1 means it must shrink) and what each tier of techniques can reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_gap: float | None = None
    latency_gap: float | None = None
    memory_gap: float | None = None
    worst_gap: float | None = None
    binding_metric: Metric = "none"
    size_best_post_training: float = 1.0
    size_best_low_bit: float = 1.0
    size_best_training: float = 1.0
    size_best_int8: float = Field(default=1.0, description="Best size factor of the 8-bit techniques that can run")
    size_embeddings_4bit: float | None = Field(
        default=None,
        description="Best-case size factor of dynamic int8 with the embedding tables at 4 bits (None = not applicable)",
    )
    size_reachable_post_training: bool | None = None
    size_reachable_low_bit: bool | None = None
    size_reachable_training: bool | None = None
    size_now_mb: float | None = Field(
        default=None, description="The original's size: its file, else parameters x dtype"
    )
    size_now_source: SizeSource = "none"
    latency_now_ms: float | None = None
    latency_now_source: LatencySource = "none"
    latency_best_post_training_ms: float | None = None
    latency_best_training_ms: float | None = None
    latency_reachable_post_training: bool | None = None
    memory_now_mb: float | None = None
    memory_best_post_training_mb: float | None = None
    memory_reachable_post_training: bool | None = None
    reachable_post_training: bool | None = Field(
        default=None, description="Every set budget reachable without training"
    )
    fits_device_storage: bool | None = None
    fits_device_memory: bool | None = None
    runs_as_is: bool = Field(default=True, description="The device can run the model's current precision")
    best_post_training_technique: str | None = None
    outlooks: list[Outlook] = Field(default_factory=list)


def _ratio(now: float | None, budget: float | None) -> float | None:
    return round(now / budget, 3) if now is not None and budget else None


def roofline_ms(target: TargetFacts, model: ModelFacts, compute: str, weight_mb: float | None) -> float | None:
    """Latency estimate: the slower of compute and memory traffic, plus fixed per-inference and per-op costs."""
    peak = {"fp32": target.peak_gflops_fp32, "fp16": target.peak_gflops_fp16, "int8": target.peak_gops_int8}.get(
        compute
    )
    if model.macs is None or peak is None or target.bandwidth_gbps is None or weight_mb is None:
        return None
    efficiency = load_limits().estimate_efficiency
    act_bytes_per_value = {"fp32": 4, "fp16": 2, "int8": 1}[compute]
    act_mb = 2 * (model.activation_peak_mb or 0.0) * act_bytes_per_value / 4
    t_compute = 2 * model.macs / (peak * 1e9 * efficiency) * 1e3
    t_memory = (weight_mb + act_mb) * 1e6 / (target.bandwidth_gbps * 1e9) * 1e3
    t_fixed = target.latency_overhead_ms + (model.op_count or 0) * target.op_overhead_us / 1e3
    return round(max(t_compute, t_memory) + t_fixed, 4)


def model_size(model: ModelFacts) -> tuple[float | None, SizeSource]:
    """The original's size in MB: the file size when known, else parameters x bytes per weight of a known dtype."""
    if model.size_mb is not None:
        return model.size_mb, "file"
    if model.parameters is not None and model.weight_dtype in KNOWN_DTYPES:
        return round(model.parameters * DTYPE_BITS[model.weight_dtype] / 8 / 1e6, 4), "parameters"
    return None, "none"


def layer_share(model: ModelFacts, op_types: tuple[str, ...]) -> float:
    """Share of the weights in the largest layers of these op types (a lower bound: only the largest are listed)."""
    return round(min(1.0, sum(l.parameter_share for l in model.largest_layers if l.op_type in op_types)), 4)


def embedding_share(model: ModelFacts) -> float | None:
    """Share of the weights in embedding tables (Gather): the profiled share, else the largest layers that are Gathers."""
    if model.embedding_param_share is not None:
        return model.embedding_param_share
    gathers = [l.parameter_share for l in model.largest_layers if l.op_type == "Gather"]
    return round(sum(gathers), 4) if gathers else None


def embeddings_4bit_factor(model: ModelFacts, target: TargetFacts, int8_dynamic_runs: bool | None) -> float | None:
    """Best case of int8_dynamic with `embedding_bits=4`: the tables at 4 bits, every other weight at 8.

    Only where ONNX Runtime's CPU kernel for 4-bit tables (GatherBlockQuantized) can load it: a CPU that quantizes
    on the fly, with 4-bit weights among its formats. None when the model's embeddings are too small to matter.
    """
    share = embedding_share(model)
    cur = DTYPE_BITS[model.weight_dtype]
    if share is None or share < EMBEDDING_4BIT_MIN_SHARE or model.weight_dtype not in ("fp32", "fp16", "bf16"):
        return None
    if int8_dynamic_runs is False or (target.known and (target.kind != "cpu" or "int4" not in target.precisions)):
        return None
    return round(1.0 / (share * 4 / cur + (1.0 - share) * 8 / cur), 3)


def _compute_for(precisions: list[str], target: TargetFacts) -> str | None:
    """The arithmetic a technique's output runs in on this target (None = cannot run there)."""
    if "int8" in precisions and "int8" in target.precisions:
        return "int8"
    if "fp16" in precisions and "fp16" in target.precisions:
        return "fp16" if target.fp16_accelerated else ("fp32" if target.peak_gflops_fp32 else "fp16")
    if any(p in target.precisions for p in precisions if p in ("int4", "palette", "fp32")):
        return "fp32" if target.peak_gflops_fp32 else "fp16"
    return None


def outlooks(model: ModelFacts, target: TargetFacts, manifest: dict[str, dict[str, Any]]) -> list[Outlook]:
    """Best case of every technique in the manifest on this device, in manifest order."""
    limits = load_limits()
    cur_bits = DTYPE_BITS[model.weight_dtype]
    size, _ = model_size(model)
    conv = model.conv_param_share or 0.0
    gru_rnn = layer_share(model, ("GRU", "RNN"))
    recurrent = layer_share(model, ("LSTM", "GRU", "RNN"))
    out: list[Outlook] = []
    for tid, entry in manifest.items():
        precisions = list(entry.get("precisions", []))
        bits = int(entry.get("bits", 32))
        training = bool(entry.get("training_aware")) or bool(entry.get("needs", {}).get("training"))
        family = entry.get("family", "")
        reason, note = "", ""
        runs: bool | None = True
        factor: float | None
        if family in ("quantization", "palettization"):
            compute = _compute_for(precisions, target)
            runs = compute is not None
            if not runs:
                reason = f"{target.name} cannot run {'/'.join(precisions)} weights"
            if tid == "int8_dynamic" and not target.dynamic_quantization:
                runs, reason = False, f"{target.name} cannot quantize activations on the fly"
            if not target.known:  # an unknown device is "unknown", not "no": the size arithmetic still holds
                runs, reason, compute = None, "", None
            if family == "palettization":
                bits = max(bits, PALETTE_POST_TRAINING_BITS)  # 6-bit palettes work data-free; 4 bits counts as low-bit
            share = (
                model.matmul_param_share if tid == "int4_weight_only" and model.matmul_param_share is not None else 1.0
            )
            calibrated = bool(entry.get("needs", {}).get("calibration")) and "int8" in precisions
            if compute == "int8" and target.known and not target.int8_accelerated:
                # Without fast int8 math, rules warn that quantized activations may not speed things up
                # (activations-slow-without-int8-math): the estimate assumes float speed on smaller weights.
                compute = "fp32" if target.peak_gflops_fp32 else "fp16"
                note = "no int8 speed-up assumed: this device has no fast int8 math"
            if tid == "int8_dynamic":
                # int8_dynamic leaves Conv in float (ConvInteger is slow) and ONNX Runtime has no dynamic GRU/RNN
                # kernel: only the other weights shrink, and a model that is mostly those gets no int8 speed-up.
                kept = min(1.0, conv + gru_rnn)
                share = 1.0 - kept
                if conv >= CONV_HEAVY_SHARE:
                    note = "int8_dynamic leaves Conv layers in float32; int8_static shrinks them"
                elif gru_rnn:
                    note = "int8_dynamic leaves GRU/RNN layers in float32 (ONNX Runtime has no dynamic int8 kernel)"
                if kept >= CONV_HEAVY_SHARE and runs is not False and compute == "int8":
                    compute = "fp32" if target.peak_gflops_fp32 else "fp16"
                if share <= NOTHING_LEFT_SHARE:
                    kind = "Conv" if conv >= gru_rnn else "GRU/RNN"
                    runs, reason = (
                        False,
                        f"int8_dynamic leaves {kind} layers in float32 and this model has nothing else",
                    )
            elif calibrated and recurrent:
                share = 1.0 - recurrent  # static int8 has no recurrent kernel: LSTM/GRU/RNN stay float
                note = "static int8 leaves LSTM/GRU/RNN layers in float32"
            if calibrated and model.arch_family == "transformer" and target.kind == "cpu":
                # Default static int8 measured 1.6-1.8x slower than fp32 on MiniLM (rules/quantization/
                # static-int8-hurts-transformers.yaml): an int8 roofline number would contradict that warning.
                compute = None
                note = "no latency estimate: calibrated (static) int8 ran slower than fp32 on transformers on CPUs"
            factor = 1.0 / (share * min(1.0, bits / cur_bits) + (1.0 - share))
            tier: Tier = "post_training" if bits >= PALETTE_POST_TRAINING_BITS else "low_bit"
        elif tid == "prune_unstructured":
            compute, tier, factor = (
                _compute_for(["fp32", "fp16", "int8"], target),
                "training",
                limits.unstructured_pruning_size_factor,
            )
        elif tid == "prune_structured":
            compute, tier, factor = (
                _compute_for(["fp32", "fp16", "int8"], target),
                "training",
                limits.structured_pruning_size_factor,
            )
        else:  # distillation and anything that changes the architecture: no fixed ceiling
            compute, tier, factor = _compute_for(["fp32", "fp16", "int8"], target), "architecture", None
        if entry.get("file_shrinks") is False and factor is not None:
            # Palettes and sparse zeros are compact *encodings*: the ONNX file the runtime loads keeps dense float
            # weights, and the decision judges that file. Promising the encoding's ratio would send the plan (and
            # the autopilot) to a rung that cannot meet a size budget.
            encoded = f"about {factor:.2g}× smaller only as a compact encoding (estimate), not as the file it loads"
            note = f"{note}; {encoded}" if note else encoded
            factor = 1.0
        if training and tier in ("post_training", "low_bit"):
            tier = "training"
        if not target.known:  # nobody can say whether an unknown device runs it: unknown, neither yes nor no
            runs, reason = None, ""
        latency = None
        if runs is not False and compute and size is not None:
            # Weights expanded to float at load (int8_storage) are read at full size on every call.
            weight_mb = size if entry.get("expands_at_load") else size / (factor or 1.0)
            latency = roofline_ms(target, model, compute, weight_mb)
            if latency is not None and tid == "int8_dynamic":
                latency = round(latency + (model.op_count or 0) * target.op_overhead_us / 1e3, 4)
            if latency is not None and tid == "prune_structured":
                latency = round(latency / limits.structured_pruning_latency_factor, 4)
            if latency is not None and tid == "prune_unstructured" and target.sparse_accelerated:
                latency = round(latency / limits.unstructured_pruning_latency_factor, 4)
        out.append(
            Outlook(
                technique=tid,
                tier=tier,
                runs_on_target=runs,
                reason=reason,
                note=note,
                size_factor=None if factor is None else round(factor, 3),
                latency_ms=latency,
            )
        )
    return out


def assess(
    model: ModelFacts, target: TargetFacts, budget: BudgetFacts, manifest: dict[str, dict[str, Any]]
) -> Feasibility:
    """Compare today's model with the budget, and with the best each tier can do on this device."""
    limits = load_limits()
    looks = outlooks(model, target, manifest)
    runnable = [o for o in looks if o.runs_on_target is not False]
    size_now, size_src = model_size(model)
    quant_best = max((o.size_factor or 1.0 for o in runnable if o.tier == "post_training"), default=1.0)
    ptq = [o for o in runnable if o.tier == "post_training"]
    int8_best = max(
        (o.size_factor or 1.0 for o in ptq if int(manifest.get(o.technique, {}).get("bits", 32)) == 8), default=1.0
    )
    dynamic = next((o for o in looks if o.technique == "int8_dynamic"), None)
    emb4 = (
        embeddings_4bit_factor(model, target, None if dynamic is None else dynamic.runs_on_target) if dynamic else None
    )
    size_ptq = max(quant_best, emb4 or 1.0)
    size_low = max([size_ptq, *(o.size_factor or 1.0 for o in runnable if o.tier == "low_bit")])
    cur_bits = DTYPE_BITS[model.weight_dtype]
    if "palette" in target.precisions:
        size_low = max(size_low, cur_bits / 4)
    size_train = max(size_low, size_ptq * limits.structured_pruning_size_factor)
    if "palette" in target.precisions or "int4" in target.precisions:
        size_train = max(size_train, cur_bits / limits.training_aware_min_bits)
    best_ptq = min(
        (o for o in ptq if o.latency_ms is not None), key=lambda o: (o.latency_ms, o.technique), default=None
    )

    cur_compute = "fp32" if "fp32" in target.precisions else ("fp16" if "fp16" in target.precisions else None)
    runs_as_is = cur_compute is not None or not target.known
    now_ms: float | None
    now_src: Literal["device", "host", "estimate", "none"]
    if model.latency_source == "device" and model.latency_ms:
        now_ms, now_src = model.latency_ms, "device"
    elif target.is_this_computer and model.latency_ms and model.latency_source == "host":
        now_ms, now_src = model.latency_ms, "host"
    elif cur_compute and target.known:
        now_ms = roofline_ms(target, model, cur_compute, size_now)
        now_src = "estimate" if now_ms is not None else "none"
    else:
        now_ms, now_src = None, "none"
    best_ms = best_ptq.latency_ms if best_ptq else None
    if best_ms is not None and now_ms is not None and now_src in ("host", "device"):
        est_now = roofline_ms(target, model, cur_compute or "fp32", size_now)
        if est_now:  # scale the measurement by the estimated speed-up rather than mixing sources
            best_ms = round(now_ms * min(1.0, best_ms / est_now), 4)
    train_ms = None if best_ms is None else round(best_ms / limits.structured_pruning_latency_factor, 4)

    act = model.activation_peak_mb or 0.0
    mem_now = (
        model.peak_memory_mb
        if (target.is_this_computer and model.peak_memory_mb)
        else (None if size_now is None else round(size_now + 2 * act, 4))
    )
    mem_best = None if size_now is None else round(size_now / size_ptq + 2 * act / 4, 4)

    size_gap = _ratio(size_now, budget.size_mb)
    latency_gap = _ratio(now_ms, budget.latency_ms)
    relative = budget.latency_ms is None and budget.min_speedup is not None
    if relative:  # "N× faster than the original": the speed-up asked for is the latency gap itself
        latency_gap = budget.min_speedup
    memory_gap = _ratio(mem_now, budget.peak_memory_mb)
    gaps = {"size": size_gap, "latency": latency_gap, "memory": memory_gap}
    known = {k: v for k, v in gaps.items() if v is not None}
    binding = cast(Metric, max(sorted(known), key=lambda k: known[k]) if known else "none")

    def reach(gap: float | None, best: float) -> bool | None:
        return None if gap is None else gap <= best + 1e-9

    lat_ok = None if budget.latency_ms is None or best_ms is None else best_ms <= budget.latency_ms
    if budget.latency_ms is not None and now_ms is not None and now_ms <= budget.latency_ms:
        lat_ok = True
    if relative and now_ms and best_ms:
        lat_ok = now_ms / best_ms >= (budget.min_speedup or 1.0)
    mem_ok = None if budget.peak_memory_mb is None or mem_best is None else mem_best <= budget.peak_memory_mb
    parts = [
        v
        for is_set, v in (
            (budget.size_mb is not None, reach(size_gap, size_ptq)),
            (budget.latency_ms is not None or relative, lat_ok),
            (budget.peak_memory_mb is not None, mem_ok),
        )
        if is_set
    ]
    if False in parts:
        reachable: bool | None = False
    else:
        reachable = True if parts and all(p is True for p in parts) else None
    return Feasibility(
        size_gap=size_gap,
        latency_gap=latency_gap,
        memory_gap=memory_gap,
        worst_gap=max(known.values()) if known else None,
        binding_metric=binding,
        size_best_post_training=round(size_ptq, 3),
        size_best_low_bit=round(size_low, 3),
        size_best_training=round(size_train, 3),
        size_best_int8=round(int8_best, 3),
        size_embeddings_4bit=emb4,
        size_reachable_post_training=reach(size_gap, size_ptq),
        size_reachable_low_bit=reach(size_gap, size_low),
        size_reachable_training=reach(size_gap, size_train),
        size_now_mb=size_now,
        size_now_source=size_src,
        latency_now_ms=now_ms,
        latency_now_source=now_src,
        latency_best_post_training_ms=best_ms,
        latency_best_training_ms=train_ms,
        latency_reachable_post_training=lat_ok,
        memory_now_mb=mem_now,
        memory_best_post_training_mb=mem_best,
        memory_reachable_post_training=mem_ok,
        reachable_post_training=reachable,
        fits_device_storage=None
        if size_now is None or target.storage_mb is None
        else size_now / size_ptq <= target.storage_mb,
        fits_device_memory=None if mem_best is None or target.memory_mb is None else mem_best <= target.memory_mb,
        runs_as_is=runs_as_is,
        best_post_training_technique=best_ptq.technique if best_ptq else None,
        outlooks=looks,
    )
