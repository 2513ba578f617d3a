"""What each internal key is called on screen and in reports: one mapping, shared by the GUI, the CLI and the reports.

The project file, the CLI flags and the technique settings use short keys (`accuracy_drop_pts`, `sqnr_db`,
`nodes_to_exclude`); a person reads "Accuracy loss, at most", "SQNR", "Layers kept in float". Unknown keys fall back
to their words ("some_key" → "Some key") so nothing new is ever shown as an identifier. The raw key stays available
as a secondary detail (tooltips, small print), for people who script against it.
"""

from __future__ import annotations

import re

METRIC_LABELS: dict[str, str] = {
    "size_bytes": "File size",
    "encoded_size_bytes": "Encoded size",
    "latency_ms_median": "Latency (median)",
    "latency_ms_p90": "Latency (p90)",
    "latency_ms_iqr": "Latency spread (IQR)",
    "latency_ratio": "Latency vs original",
    "original_latency_ms_median": "Original's latency (median)",
    "peak_memory_mb": "Peak memory",
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "top1_agreement": "Top-1 agreement",
    "sqnr_db": "SQNR",
    "cosine_mean": "Cosine (mean)",
    "cosine_min": "Cosine (min)",
    # per-output task metrics (compression.measure.tasks)
    "decision_agreement": "Decision agreement",
    "nn_agreement": "Nearest-neighbour agreement",
    "value_fidelity": "1 − relative error",
    "relative_error": "Relative error",
    "mean_abs_error": "Mean absolute error",
    "frame_cosine_mean": "Frame cosine (mean)",
    "frame_cosine_min": "Frame cosine (min)",
}

# The live curves a technique reports while it runs (compression.events MetricPoint series).
SERIES_LABELS: dict[str, str] = {
    "train_loss": "Training loss",
    "val_accuracy": "Validation accuracy",
    "val_agreement": "Agreement with the teacher",
    "weight_sqnr_db": "Weight SQNR (dB)",
    "macs_ratio": "Share of MACs kept",
    "params_ratio": "Share of parameters kept",
}

BUDGET_LABELS: dict[str, str] = {
    "latency_ms": "Latency",
    "latency_statistic": "Latency must hold for",
    "size_mb": "File size",
    "peak_memory_mb": "Peak memory",
    "power_mw": "Power",
    "accuracy_drop_pts": "Accuracy drop",
    "max_disagreement_pct": "Changed answers",
    "min_speedup": "Speed-up over the original",
    "min_cosine": "Output cosine",
}

BUDGET_UNITS: dict[str, str] = {
    "latency_ms": "ms",
    "size_mb": "MB",
    "peak_memory_mb": "MB",
    "power_mw": "mW",
    "accuracy_drop_pts": "points",
    "max_disagreement_pct": "%",
    "min_speedup": "×",
    "min_cosine": "",
}

# Technique settings (the techniques' pydantic Config fields), in the words of the settings forms.
SETTING_LABELS: dict[str, str] = {
    "accuracy_level": "4-bit kernel compute type",
    "activation_type": "Activation integer type",
    "alpha": "Weight of the teacher's answers",
    "batch_size": "Batch size",
    "bits": "Bits per weight",
    "block_size": "Weights per block",
    "calibrate_method": "Calibration method",
    "calibration_samples": "Calibration inputs",
    "epochs": "Fine-tuning epochs",
    "fine_tune_epochs": "Fine-tuning epochs",
    "fuse_attention": "Fuse attention first (transformers)",
    "global_pruning": "Rank channels across all layers",
    "granularity": "One table per",
    "group_size": "Channels per table",
    "importance_norm": "Channel importance",
    "is_symmetric": "Symmetric blocks",
    "iterations": "Clustering iterations",
    "keep_float": "Layers kept in float",
    "keep_float_nodes": "Layers kept in float",
    "keep_float_op_types": "Op types kept in float",
    "keep_io_types": "Keep inputs and outputs float32",
    "keep_ratio": "Share of the model to keep",
    "lr": "Learning rate",
    "lut_dtype": "Table value precision",
    "max_finite_value": "Largest weight kept",
    "max_steps": "Pruning steps, at most",
    "min_elements": "Smallest tensor compressed",
    "min_positive_value": "Smallest non-zero weight",
    "nodes_to_exclude": "Layers kept in float",
    "op_preset": "Which op types to quantize",
    "op_types_to_quantize": "Op types to quantize",
    "per_channel": "Per-channel scales",
    "percentile": "Percentile kept in range",
    "precision": "Precision of the rest",
    "preprocess": "Clean up the graph first",
    "quant_format": "Quantized graph format",
    "quantize_embeddings": "Quantize embedding tables",
    "reduce_range": "7-bit weights (older CPUs)",
    "rewrite_gemm": "Rewrite Linear layers for 4-bit",
    "round_to": "Channel counts a multiple of",
    "scope": "Pruning scope",
    "selection": "How layers are chosen",
    "student": "Student model",
    "student_kwargs": "Student arguments",
    "target": "What the keep ratio counts",
    "target_sparsity": "Share of weights set to zero",
    "temperature": "Softening temperature",
    "threshold": "Quality drop threshold",
    "top_k": "Most sensitive layers kept",
    "width_ratio": "Share of channels the student keeps",
}

# Experiment statuses, for every list, table and report that shows one.
STATUS_LABELS: dict[str, str] = {
    "queued": "Waiting",
    "starting": "Starting",
    "running": "Running",
    "finished": "Finished",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted",
}
STATUS_HELP: dict[str, str] = {
    "interrupted": "The process running it stopped (closed or killed) before it finished; run it again.",
    "cancelled": "Stopped by you before it finished.",
    "failed": "It stopped with an error; its details say why.",
}
# The severity colour names of gui.theme, per status (the report uses the same words as CSS classes).
STATUS_COLOURS: dict[str, str] = {
    "finished": "good",
    "failed": "error",
    "cancelled": "low",
    "interrupted": "medium",
}

KIND_LABELS: dict[str, str] = {
    "baseline": "the original",
    "run": "run",
    "sweep": "sweep",
    "sensitivity": "sensitivity analysis",
}

_ID = re.compile(r"^(run|sweep|sensitivity|baseline|exp)-[0-9a-f]{6,}$")


def _words(key: str) -> str:
    text = key.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def metric_label(key: str) -> str:
    return METRIC_LABELS.get(key) or _words(key)


def series_label(key: str) -> str:
    return SERIES_LABELS.get(key) or METRIC_LABELS.get(key) or _words(key)


def budget_label(key: str) -> str:
    """'accuracy_drop_pts' or 'budget.accuracy_drop_pts' → 'Accuracy drop'."""
    key = key.removeprefix("budget.")
    return BUDGET_LABELS.get(key) or _words(key)


def setting_label(key: str) -> str:
    return SETTING_LABELS.get(key) or _words(key)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status) or _words(status)


def technique_label(technique: str) -> str:
    """The catalog's title ('Float16 weights'); the id itself when the catalog does not know it."""
    from shrinkwise.compression.catalog import load_catalog  # the manifest only, no technique module is imported

    entry = load_catalog().get(technique)
    return str(entry.get("title") or technique) if entry else technique


def is_run_id(text: str) -> bool:
    return bool(_ID.match(text))


def label(key: str) -> str:
    """Any key a person might see: a metric, budget or setting key (optionally dotted), else its words."""
    key = key.strip()
    if key.startswith("budget."):
        return budget_label(key)
    for table in (METRIC_LABELS, SERIES_LABELS, BUDGET_LABELS, SETTING_LABELS, STATUS_LABELS):
        if key in table:
            return table[key]
    return _words(key.rsplit(".", 1)[-1])
