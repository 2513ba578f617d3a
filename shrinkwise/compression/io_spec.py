"""How each model input is fed and each output read: the data spec.

Why: "samples on axis 0" is false for real models. A streaming recurrent model takes `state [2, batch, 128]`
(samples on axis 1), a scalar `sr` that is the same for every batch, and returns `stateN [2, batch, 128]`. Every
place that slices, splits, batches or concatenates data (the split, calibration, evaluation, latency, the per-layer
error) asks this module where the samples are instead of assuming axis 0.

What the user declares (`IOSpec`: on the CLI, in the GUI, or as a JSON entry `shrinkwise_spec` inside the .npz)
wins; the rest is inferred from the model's signature with a reason the user sees (`resolve_inputs`).
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.compression.errors import DataError, ShrinkwiseError
from shrinkwise.compression.signature import InputSignature, TensorSpec

# The .npz member holding the spec as a JSON string (a 0-d unicode array: no pickle involved).
NPZ_SPEC_KEY = "shrinkwise_spec"

InputKind = Literal["batch", "constant", "state"]
OutputTask = Literal["classification", "binary", "embedding", "regression", "sequence", "state", "ignore"]
OUTPUT_TASKS: tuple[str, ...] = OutputTask.__args__  # type: ignore[attr-defined]
INPUT_KINDS: tuple[str, ...] = InputKind.__args__  # type: ignore[attr-defined]
STATE_WORDS = ("state", "hidden", "cell", "memory", "cache")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Spec):
    """How one input is fed. `batch`: samples along `batch_axis`. `constant`: one value for every batch (a scalar
    sample rate, a fixed mask). `state`: a recurrent state with samples along `batch_axis`; zeros (the initial
    state) when the data has none; `carried_from` names the output that returns the next state."""

    kind: InputKind = "batch"
    batch_axis: int = Field(default=0, ge=0)
    carried_from: str | None = None


class OutputSpec(_Spec):
    """How one output is scored. `task` None means inferred; `threshold` is the binary decision threshold."""

    task: OutputTask | None = None
    threshold: float = Field(default=0.5, allow_inf_nan=False)
    batch_axis: int | None = Field(default=None, ge=0)


class IOSpec(_Spec):
    """What the user declared, per input and output name; anything not named here is inferred."""

    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)

    def merged(self, other: IOSpec) -> IOSpec:
        """This spec with `other`'s entries added where this one says nothing (this one wins)."""
        return IOSpec(inputs={**other.inputs, **self.inputs}, outputs={**other.outputs, **self.outputs})


class ResolvedInput(_Spec):
    name: str
    kind: InputKind
    batch_axis: int | None = Field(description="None for a constant")
    carried_from: str | None = None
    reason: str
    declared: bool = False


# --- slicing ----------------------------------------------------------------------------------------------------


def take(array: np.ndarray, axis: int | None, index: slice | np.ndarray) -> np.ndarray:
    """Samples `index` of `array` along `axis`; a constant (axis None) is returned whole."""
    if axis is None:
        return array
    where: list[slice | np.ndarray] = [slice(None)] * array.ndim
    where[axis] = index
    return np.ascontiguousarray(array[tuple(where)])


def sample_count(inputs: dict[str, np.ndarray], axes: dict[str, int | None]) -> int:
    """How many samples the inputs hold: the length of the first batched input along its axis (1 if all constant)."""
    for name, arr in inputs.items():
        axis = axes.get(name, 0)
        if axis is not None:
            return int(arr.shape[axis]) if arr.ndim > axis else 1
    return 1


def feed(inputs: dict[str, np.ndarray], axes: dict[str, int | None], start: int, stop: int) -> dict[str, np.ndarray]:
    """One batch: samples start..stop of every batched input, constants whole."""
    return {k: take(v, axes.get(k, 0), slice(start, stop)) for k, v in inputs.items()}


# --- inference --------------------------------------------------------------------------------------------------


def _dynamic(spec: TensorSpec) -> list[int]:
    return [i for i, d in enumerate(spec.shape) if not (isinstance(d, int) and d >= 0)]


def _state_stem(name: str) -> str | None:
    """`state` for `state`/`state_in`/`state0`, `h` for `h0`: the name without its "initial" mark, when the name
    says recurrent state; None otherwise."""
    stem = name.lower().removesuffix("_in").removesuffix("in").rstrip("_0")
    return stem if stem in ("h", "c") or any(word in stem for word in STATE_WORDS) else None


def _state_partner(spec: TensorSpec, outputs: list[TensorSpec]) -> TensorSpec | None:
    """The output that returns this input's next state: the same shape, named after it (`state` -> `stateN`,
    `h0` -> `hn`, `state_in` -> `state_out`)."""
    stem = _state_stem(spec.name)
    if stem is None:
        return None
    for out in outputs:
        if out.shape != spec.shape or out.dtype != spec.dtype:
            continue
        other = out.name.lower()
        if other.startswith(stem) and other != spec.name.lower():
            return out
    return None


def shared_batch_dim(signature: InputSignature) -> str | None:
    """The dynamic axis name every input with a named dynamic axis shares ('N' in x [T, N, 8] and h0 [1, N, 16]):
    the samples axis. The first such name of the first input when several are shared ('batch' before 'seq')."""
    named = [[d for d in s.shape if isinstance(d, str) and d not in ("", "?")] for s in signature.inputs]
    named = [n for n in named if n]
    if len(named) < 2:
        return None
    common = set(named[0]).intersection(*map(set, named[1:]))
    return next((d for d in named[0] if d in common), None)


def infer_input(spec: TensorSpec, outputs: list[TensorSpec], batch_dim: str | None = None) -> ResolvedInput:
    """Where the samples are in one input, from its declared shape (and the axis name all inputs share, if any);
    the reason says why."""
    shape = list(spec.shape)
    if not shape:
        return ResolvedInput(
            name=spec.name,
            kind="constant",
            batch_axis=None,
            reason=f"'{spec.name}' is a scalar (rank 0) → one value fed with every batch",
        )
    dynamic = _dynamic(spec)
    shared = batch_dim is not None and batch_dim in shape
    axis = shape.index(batch_dim) if shared else (dynamic[0] if dynamic else 0)
    partner = _state_partner(spec, outputs)
    if axis == 0 and partner is None:
        return ResolvedInput(name=spec.name, kind="batch", batch_axis=0, reason=f"'{spec.name}' has samples on axis 0")
    if shared and axis:
        why = (
            f"'{spec.name}' {shape}: axis '{batch_dim}', which every input has, is axis {axis} → samples on axis {axis}"
        )
    elif axis:
        why = (
            f"'{spec.name}' {shape} has fixed axis 0 and dynamic axis {axis} ('{shape[axis]}') → samples on axis {axis}"
        )
    else:
        why = f"'{spec.name}' {shape} has samples on axis 0"
    if partner is not None:
        return ResolvedInput(
            name=spec.name,
            kind="state",
            batch_axis=axis,
            carried_from=partner.name,
            reason=f"{why}; output '{partner.name}' has its shape → recurrent state (zeros when the data has none)",
        )
    if axis and _state_stem(spec.name) is not None:
        return ResolvedInput(
            name=spec.name,
            kind="state",
            batch_axis=axis,
            reason=f"{why}; named like a recurrent state → zeros when the data has none",
        )
    return ResolvedInput(name=spec.name, kind="batch", batch_axis=axis, reason=why)


def resolve_inputs(signature: InputSignature, declared: IOSpec | None = None) -> dict[str, ResolvedInput]:
    """Every input's kind and sample axis: what the user declared, else what the signature says."""
    declared = declared or IOSpec()
    batch_dim = shared_batch_dim(signature)
    out: dict[str, ResolvedInput] = {}
    for spec in signature.inputs:
        own = declared.inputs.get(spec.name)
        if own is None:
            out[spec.name] = infer_input(spec, signature.outputs, batch_dim)
            continue
        axis = None if own.kind == "constant" else own.batch_axis
        if axis is not None and spec.shape and axis >= len(spec.shape):
            raise DataError(
                f"input '{spec.name}' {list(spec.shape)} has no axis {axis}",
                None,
                f"give a batch axis between 0 and {len(spec.shape) - 1}",
            )
        out[spec.name] = ResolvedInput(
            name=spec.name,
            kind=own.kind,
            batch_axis=axis,
            carried_from=own.carried_from,
            reason=f"'{spec.name}' declared {own.kind}" + ("" if axis is None else f", samples on axis {axis}"),
            declared=True,
        )
    return out


def axes_of(resolved: dict[str, ResolvedInput]) -> dict[str, int | None]:
    return {name: r.batch_axis for name, r in resolved.items()}


# --- the spec inside an .npz ------------------------------------------------------------------------------------


def spec_from_npz_entry(value: np.ndarray, where: str) -> IOSpec:
    """Parse the `shrinkwise_spec` entry (a JSON string) of an .npz; bad JSON is one line naming the file."""
    fix = 'store a JSON string, e.g. shrinkwise_spec=json.dumps({"inputs": {"sr": {"kind": "constant"}}})'
    if value.dtype.kind not in ("U", "S") or value.ndim != 0:
        raise DataError(f"'{NPZ_SPEC_KEY}' is not a JSON string", where, fix)
    text = str(value) if value.dtype.kind == "U" else bytes(value).decode("utf-8", "replace")
    try:
        return IOSpec.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0 if not isinstance(exc, ValidationError) else 1][:200]
        raise DataError(f"'{NPZ_SPEC_KEY}' is not a valid data spec ({first})", where, fix) from None


def spec_to_npz_entry(spec: IOSpec) -> np.ndarray:
    return np.array(spec.model_dump_json(exclude_defaults=True))


def parse_input_decl(text: str) -> tuple[str, InputSpec]:
    """`NAME=KIND[:AXIS][:from=OUTPUT]` from the CLI, e.g. `state=state:1`, `sr=constant`, `x=batch:0`."""
    fix = "e.g. --input state=state:1 or --input sr=constant (kinds: " + ", ".join(INPUT_KINDS) + ")"
    name, sep, rest = text.partition("=")
    parts = rest.split(":") if rest else []
    if not sep or not name or not parts or parts[0] not in INPUT_KINDS:
        raise ShrinkwiseError(f"--input '{text}' is not NAME=KIND[:AXIS]", fix=fix)
    kind, axis, carried = parts[0], 0, None
    for p in parts[1:]:
        if p.startswith("from="):
            carried = p.removeprefix("from=") or None
        elif p.isdigit():
            axis = int(p)
        else:
            raise ShrinkwiseError(f"--input '{text}': '{p}' is not an axis number", fix=fix)
    return name, InputSpec(kind=kind, batch_axis=axis, carried_from=carried)  # type: ignore[arg-type]


def parse_task_decl(text: str) -> tuple[str, OutputSpec]:
    """`OUTPUT=TASK[:THRESHOLD][:axis=K]` from the CLI, e.g. `prob=binary:0.7`, `emb=embedding`,
    `hn=state:axis=1` (where the output's samples are, when its shape does not say)."""
    fix = (
        "e.g. --task emb=embedding, --task prob=binary:0.5 or --task hn=state:axis=1 (tasks: "
        + ", ".join(OUTPUT_TASKS)
        + ")"
    )
    name, sep, rest = text.partition("=")
    task, *parts = rest.split(":")
    if not sep or not name or task not in OUTPUT_TASKS:
        raise ShrinkwiseError(f"--task '{text}' is not OUTPUT=TASK", fix=fix)
    threshold, axis = 0.5, None
    for p in parts:
        if p.startswith("axis="):
            if not p.removeprefix("axis=").isdigit():
                raise ShrinkwiseError(f"--task '{text}': '{p}' is not axis=NUMBER", fix=fix)
            axis = int(p.removeprefix("axis="))
            continue
        try:
            threshold = float(p)
        except ValueError:
            raise ShrinkwiseError(f"--task '{text}': threshold '{p}' is not a number", fix=fix) from None
    return name, OutputSpec(task=task, threshold=threshold, batch_axis=axis)  # type: ignore[arg-type]
