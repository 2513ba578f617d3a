"""Mixed precision: quantize to int8 (static or dynamic) or int4, keeping the layers the sensitivity analysis
flags in float.

The layers kept are the top-k most sensitive ones or those whose quality drop exceeds a threshold, plus any named in
`keep_float`. The actual quantization is done by the int8_static / int8_dynamic / int4_weight_only techniques with
those nodes excluded; for QDQ the kept nodes also read their float inputs (no Q/DQ in front of them).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine
from shrinkwise.compression.technique_api import TechniqueConfig, TechniqueContext, TechniqueRun


class Config(TechniqueConfig):
    technique: Literal["mixed_precision"] = "mixed_precision"
    precision: Literal["int8_static", "int8_dynamic", "int4"] = Field(
        default="int8_static", description="How the rest of the model is quantized"
    )
    selection: Literal["top_k", "threshold"] = Field(
        default="top_k", description="Keep the k most sensitive layers in float, or every layer above the threshold"
    )
    top_k: int = Field(
        default=3, ge=0, le=10_000, description="How many of the most sensitive layers stay float (top_k)"
    )
    threshold: float = Field(
        default=0.01, ge=0.0, le=1e6, description="Quality drop above which a layer stays float (threshold)"
    )
    keep_float: tuple[str, ...] = Field(
        default=(),
        max_length=10_000,
        description="Node names kept in float in any case (works without a sensitivity analysis)",
    )
    calibrate_method: Literal["MinMax", "Entropy", "Percentile"] = Field(
        default="MinMax", description="Activation range method (int8_static only)"
    )
    calibration_samples: int = Field(
        default=128, ge=1, le=100_000, description="Calibration samples (int8_static only)"
    )
    per_channel: bool = Field(default=False, description="One weight scale per output channel (int8 only)")
    op_preset: Literal["auto", "all_supported", "weight_ops_only"] = Field(
        default="auto", description="Which ops get quantized inputs (int8_static only; see int8_static)"
    )
    block_size: Literal[16, 32, 64, 128, 256] = Field(default=128, description="Weights per 4-bit block (int4 only)")


def select_nodes(sensitivity: dict[str, float], config: Config) -> list[str]:
    """Most sensitive first."""
    ranked = sorted(sensitivity.items(), key=lambda kv: (-kv[1], kv[0]))
    if config.selection == "top_k":
        return [name for name, _ in ranked[: config.top_k]]
    return [name for name, drop in ranked if drop > config.threshold]


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.techniques import int4_weight_only, int8_dynamic, int8_static

    if ctx.sensitivity is None and not config.keep_float:
        raise TechniqueError(
            "mixed precision needs to know which layers to keep in float, and no sensitivity analysis has been run",
            fix="run the sensitivity analysis first, or name the layers in keep_float",
        )
    model = ou.load(ctx.onnx_path)
    ou.ensure_node_names(model)
    known = ou.node_names(model)
    flagged = select_nodes(ctx.sensitivity or {}, config)
    missing = [n for n in flagged if n not in known]
    if missing:
        yield LogLine(
            level="warning",
            text=f"{len(missing)} flagged layer(s) are not in this model's graph (stale analysis?): {', '.join(missing[:5])}",
        )
    ou.check_node_names(model, config.keep_float, "keep_float")
    keep = list(dict.fromkeys([n for n in flagged if n in known] + list(config.keep_float)))
    if not keep:
        raise TechniqueError(
            "no layer was selected to stay in float, so this would be plain quantization",
            fix=f"lower the threshold, raise top_k, name layers in keep_float, or use {config.precision} directly",
        )
    drops = {n: (ctx.sensitivity or {}).get(n) for n in keep}
    described = [n if drops[n] is None else f"{n} (drop {drops[n]:.4g})" for n in keep[:20]]
    yield LogLine(text="kept in float: " + ", ".join(described) + (" …" if len(keep) > 20 else ""))

    if config.precision == "int8_static":
        sub = int8_static.apply(
            ctx,
            int8_static.Config(
                calibrate_method=config.calibrate_method,
                calibration_samples=config.calibration_samples,
                per_channel=config.per_channel,
                op_preset=config.op_preset,
                nodes_to_exclude=tuple(keep),
            ),
        )
    elif config.precision == "int8_dynamic":
        sub = int8_dynamic.apply(ctx, int8_dynamic.Config(per_channel=config.per_channel, nodes_to_exclude=tuple(keep)))
    else:
        sub = int4_weight_only.apply(
            ctx, int4_weight_only.Config(block_size=config.block_size, nodes_to_exclude=tuple(keep))
        )
    artifact = yield from sub
    # Name the file after this technique, so it never collides with a plain run of the same quantizer.
    out = ctx.out_dir / f"model_mixed_{config.precision}.onnx"
    (ctx.out_dir / artifact.path).replace(out)
    return artifact.model_copy(
        update={
            "path": out.name,
            "summary": f"Mixed precision: {len(keep)} sensitive layer(s) kept in float, the rest {config.precision}. "
            + artifact.summary,
            "notes": [
                *artifact.notes,
                "Each float layer costs size and, at the boundaries, extra Quantize/Dequantize work; keep the list short.",
            ],
            "details": {
                **artifact.details,
                "kept_float": keep,
                "kept_float_drops": drops,
                "precision": config.precision,
            },
        }
    )
