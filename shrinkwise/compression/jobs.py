"""The job a worker process runs: plain data, written as JSON by the parent and read back by the worker.

Why plain data: the worker is a separate process (a crash or OOM there must not take the app down), so everything
it needs crosses the process boundary as a file. Paths are absolute strings; data travel as `.npz` files with one
array per model input (named after it), plus `y` (labels) and `groups` where present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.data import Dataset
from shrinkwise.compression.io_spec import NPZ_SPEC_KEY, InputSpec, IOSpec, spec_from_npz_entry, spec_to_npz_entry
from shrinkwise.compression.technique_api import LabelledData


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobStep(_Spec):
    technique: str
    config: dict[str, Any] = Field(default_factory=dict)


class TorchSpecData(_Spec):
    """`compression.intake.TorchModelSpec` as JSON, plus the folder an architecture path is relative to."""

    format: str
    path: str
    architecture: str | None = None
    arch_kwargs: dict[str, Any] = Field(default_factory=dict)
    base_dir: str | None = None
    trusted_sha256: str | None = None  # checked in the worker right before the architecture file runs


class Job(_Spec):
    original_onnx: str
    out_dir: str
    steps: list[JobStep]
    # True: each step works on the previous step's output (a recipe). False: every step starts from the original
    # (used by the sensitivity analysis to measure many independent variants in one process).
    chain: bool = True
    input_names: list[str] = Field(description="Model input names: the arrays in the .npz files that are inputs")
    calibration: str | None = None
    evaluation: str | None = None
    evaluation_generated: bool = False
    training: str | None = None
    torch: TorchSpecData | None = None
    time_budget_s: float | None = None
    seed: int = 0
    threads: int = Field(default=1, ge=1)
    sensitivity: dict[str, float] | None = None
    latency_seconds: float = Field(default=4.0, gt=0.0, description="Latency measurement budget per candidate")
    measure_memory: bool = True
    # On a host whose default int8 kernel saturates, also score each int8 candidate with that kernel and note the
    # difference (`measure.evaluate`): one more pass over the evaluation data, skipped for the sensitivity variants.
    saturation_note: bool = True
    # Compare one step's output with that step's float input, layer by layer, with ONNX Runtime's QDQ debugging
    # tools (0 = the first step, as sensitivity does; -1 = the last step, the range check of a QDQ run; None = no).
    # The report goes into that step's payload and the payload's `layer_error`.
    layer_error_step: int | None = None
    # The project's data spec (what the user declared per input and output): output tasks, thresholds, axes.
    io: IOSpec = Field(default_factory=IOSpec)
    # The worker's address-space cap in bytes (Linux): None = the default, filled in by the runner when it writes
    # the job (`runner.resolve_memory_limit`); 0 = no cap.
    memory_limit_bytes: int | None = Field(default=None, ge=0)

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Job:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def save_dataset(dataset: Dataset, path: Path) -> str:
    """Write a dataset as the worker reads it (uncompressed: written once, read at once)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = dict(dataset.inputs)
    if dataset.axes:  # where the samples are in each input, so the worker slices as the session did
        arrays[NPZ_SPEC_KEY] = spec_to_npz_entry(axes_spec(dataset.axes))
    if dataset.labels is not None:
        arrays["y"] = dataset.labels
    if dataset.groups is not None:
        arrays["groups"] = dataset.groups
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return str(path)


def load_dataset(path: str | Path, input_names: list[str], generated: bool = False) -> Dataset:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    spec = spec_from_npz_entry(arrays[NPZ_SPEC_KEY], str(path)) if NPZ_SPEC_KEY in arrays else None
    axes = {k: (None if v.kind == "constant" else v.batch_axis) for k, v in spec.inputs.items()} if spec else {}
    return Dataset(
        inputs={n: arrays[n] for n in input_names},
        labels=arrays.get("y"),
        groups=arrays.get("groups"),
        source=str(path),
        generated=generated,
        axes=axes,
    )


def axes_spec(axes: dict[str, int | None]) -> IOSpec:
    return IOSpec(
        inputs={
            k: InputSpec(kind="constant") if a is None else InputSpec(kind="batch", batch_axis=a)
            for k, a in axes.items()
        }
    )


def labelled(dataset: Dataset | None) -> LabelledData | None:
    if dataset is None:
        return None
    return LabelledData(inputs=dataset.inputs, labels=dataset.labels, axes=dict(dataset.axes))
