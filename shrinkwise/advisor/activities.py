"""Plan steps that are not a compression technique: things a person (or Shrinkwise) does between runs.

Why a fixed vocabulary: a rule may recommend "run a sensitivity analysis" or "measure on the device" as a plan
step, and the GUI needs to know what each one is and whether Shrinkwise can do it itself.
"""

from __future__ import annotations

from typing import Literal

Activity = Literal[
    "build_evaluation",
    "smaller_architecture",
    "rethink_system",
    "classical_baseline",
    "dynamic_model",
    "random_weights_dry_run",
    "sensitivity_analysis",
    "range_check",
    "compression_ladder",
    "measure_on_device",
    "profile_hot_spots",
    "reprofile",
    "review_disagreements",
    "subgroup_evaluation",
    "training_aware_compression",
    "try_ptq_variants",
    "replace_unsupported_ops",
    "ship_candidate",
]

# activity -> (title, Shrinkwise can do it itself)
ACTIVITIES: dict[str, tuple[str, bool]] = {
    "build_evaluation": ("Set up the evaluation: metrics and a held-out test set", True),
    "smaller_architecture": ("Choose a smaller, device-suited architecture", False),
    "rethink_system": ("Rethink the system around the model", False),
    "classical_baseline": ("Benchmark a classical model (trees, linear) first", False),
    "dynamic_model": ("Consider an early-exit or gated model", False),
    "random_weights_dry_run": ("Dry run: compress the untrained architecture and measure size and speed", True),
    "sensitivity_analysis": ("Per-layer sensitivity analysis", True),
    "range_check": ("Compare layer value ranges with the original", True),
    "compression_ladder": ("Compare a ladder of compression levels", True),
    "measure_on_device": ("Measure on the target device", True),
    "profile_hot_spots": ("Find where time and size sit (per-layer profile)", True),
    "reprofile": ("Profile the model again", True),
    "review_disagreements": ("Look at the inputs where the answer changed", True),
    "subgroup_evaluation": ("Evaluate per subgroup", True),
    "training_aware_compression": ("Compression during training (quantization-aware training)", False),
    "try_ptq_variants": ("Try other post-training settings before escalating", True),
    "replace_unsupported_ops": ("Replace ops the device cannot run", False),
    "ship_candidate": ("Stop here and ship the least invasive candidate that meets the budget", True),
}
