"""Data intake: NumPy `.npz` files, folders of images in class sub-folders, and generated inputs.

`.npz` layout: `x` (or one array per model input, named after it), optional `y` (integer labels) and optional
`groups` (one subgroup label per sample); samples along the first axis. Files are read with
`allow_pickle=False`, so an object array (which could run code) is refused.

A health check turns the classic causes of bad compressed models (a tiny or skewed calibration set, duplicates,
values outside the expected range) into warnings the user sees; data that cannot work (NaN/Inf, wrong shape) is
refused with one line.
"""

from __future__ import annotations

import math
import os
import stat
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shrinkwise.compression.errors import DataError
from shrinkwise.compression.io_spec import (
    NPZ_SPEC_KEY,
    IOSpec,
    axes_of,
    feed,
    resolve_inputs,
    sample_count,
    spec_from_npz_entry,
    take,
)
from shrinkwise.compression.signature import InputSignature, TensorSpec

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MIN_CALIBRATION = 64  # below this, activation ranges found by calibration are often unrepresentative
# The most data (uncompressed) read from one file or generated for one input: a 2 MB .npz can inflate to GiBs.
MAX_DATA_BYTES = int(os.environ.get("SHRINKWISE_MAX_DATA_BYTES", 4 * 2**30))


@dataclass
class Dataset:
    """Model inputs by input name, optional labels and subgroups; `generated` marks synthetic inputs.

    `axes` says where the samples are in each input (`io_spec`): absent means axis 0, None a constant fed whole
    with every batch. Labels and groups always have one entry per sample.
    """

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    groups: np.ndarray | None = None
    source: str = ""
    generated: bool = False
    axes: dict[str, int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # where the samples are in each input, and why
    spec: IOSpec | None = None  # the data spec the file itself declared (`shrinkwise_spec`), if any

    def __len__(self) -> int:
        return sample_count(self.inputs, self.axes)

    def subset(self, index: np.ndarray) -> Dataset:
        return replace(
            self,
            inputs={k: take(v, self.axes.get(k, 0), index) for k, v in self.inputs.items()},
            labels=None if self.labels is None else self.labels[index],
            groups=None if self.groups is None else self.groups[index],
        )

    def batch(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The model feed for samples start..stop (constants whole)."""
        return feed(self.inputs, self.axes, start, stop)

    def samples_first(self, name: str) -> np.ndarray:
        """Input `name` with its samples on axis 0 (a constant gets a leading axis of 1)."""
        axis = self.axes.get(name, 0)
        arr = self.inputs[name]
        return arr[None] if axis is None else np.moveaxis(arr, axis, 0)


class HealthWarning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    severity: Literal["info", "warning", "error"] = "warning"
    message: str


class InputStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int]
    dtype: str
    samples_axis: int | None = Field(default=0, description="Where the samples are; None: one value for every batch")
    min: float
    max: float
    mean: float
    std: float


class DataHealth(BaseModel):
    """A summary the user sees before running anything."""

    model_config = ConfigDict(extra="forbid")

    samples: int
    generated: bool = False
    has_labels: bool = False
    has_groups: bool = False
    class_counts: dict[str, int] = Field(default_factory=dict)
    group_counts: dict[str, int] = Field(default_factory=dict)
    duplicates: int = 0
    inputs: list[InputStats] = Field(default_factory=list)
    warnings: list[HealthWarning] = Field(default_factory=list)


# --- readers -----------------------------------------------------------------------------------------------------


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_npz_headers(path: Path, limit: int | None = None) -> int:
    """Refuse an .npz before reading it: its arrays' sizes come from the zip directory and each .npy header.

    Why from headers: np.load inflates whatever the file says, so a small zip bomb or a header that lies about its
    shape would exhaust memory before any check on the arrays could run. Returns the total uncompressed bytes.
    """
    limit = MAX_DATA_BYTES if limit is None else limit
    fix = f"use less data, or raise the limit with SHRINKWISE_MAX_DATA_BYTES (now {_gib(limit)})"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        with open(path, "rb") as fh:
            if fh.read(6) == b"\x93NUMPY":
                raise DataError(
                    "is a single .npy array, not an .npz archive", path, "save with np.savez(path, x=..., y=...)"
                ) from None
        raise DataError(
            "is not a readable .npz file (truncated or another kind of file)", path, "save it with numpy.savez"
        ) from None
    total = 0
    with archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > limit:
            raise DataError(f"inflates to {_gib(sum(m.file_size for m in members))}, over the limit", path, fix)
        for m in members:
            name = m.filename.removesuffix(".npy")
            try:
                with archive.open(m) as fh:
                    version = np.lib.format.read_magic(fh)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(fh, max_header_size=100_000)
            except Exception:  # noqa: BLE001 - any malformed member is the same user-facing problem
                raise DataError(
                    f"array '{name}' has a malformed header", path, "save it again with numpy.savez"
                ) from None
            if dtype.hasobject:
                raise DataError(
                    "holds Python objects (pickled arrays), which Shrinkwise will not load",
                    path,
                    "save plain numeric arrays with np.savez",
                )
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > m.file_size:
                raise DataError(
                    f"array '{name}' claims shape {list(shape)} ({_gib(nbytes)}) but holds only {m.file_size} bytes",
                    path,
                    "the file is damaged or was not written by numpy; save it again",
                )
            total += nbytes
    if total > limit:
        raise DataError(f"holds {_gib(total)} of arrays, over the limit", path, fix)
    return total


def _check_regular(path: Path) -> None:
    """Only regular files are read: a FIFO would block forever, a device like /dev/zero never ends."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError("no such data file", path, "check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError("is not a regular file", path, "give an .npz file or a folder of images")


def load_npz(path: Path, signature: InputSignature, io: IOSpec | None = None) -> Dataset:
    """Arrays by input name (or `x` for a one-input model), `y`, `groups`, and an optional `shrinkwise_spec`
    entry: a JSON string saying where the samples are in each input (`io_spec.IOSpec`); `io` (the project's
    declarations) wins over it."""
    path = Path(path)
    _check_regular(path)
    check_npz_headers(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                "holds Python objects (pickled arrays), which Shrinkwise will not load",
                path,
                "save plain numeric arrays with np.savez",
            ) from None
        raise DataError("is not a readable .npz file", path, "save it with numpy.savez") from None
    except Exception:
        raise DataError(
            "is not a readable .npz file (truncated or another kind of file)", path, "save it with numpy.savez"
        ) from None
    if not hasattr(archive, "files"):
        raise DataError("is a single .npy array, not an .npz archive", path, "save with np.savez(path, x=..., y=...)")
    try:
        arrays = {k: archive[k] for k in archive.files}
    except ValueError:
        raise DataError(
            "holds Python objects (pickled arrays), which Shrinkwise will not load",
            path,
            "save plain numeric arrays with np.savez",
        ) from None
    file_spec = spec_from_npz_entry(arrays.pop(NPZ_SPEC_KEY), str(path)) if NPZ_SPEC_KEY in arrays else None
    declared = (io or IOSpec()).merged(file_spec or IOSpec())
    names = signature.input_names
    inputs: dict[str, np.ndarray] = {}
    for name in names:
        if name in arrays:
            inputs[name] = arrays[name]
        elif len(names) == 1 and "x" in arrays:
            inputs[name] = arrays["x"]
    labels = arrays.get("y")
    groups = arrays.get("groups")
    dataset = arrange_inputs(inputs, signature, declared, path, labels=labels, groups=groups, found=list(arrays))
    dataset.spec = file_spec
    check_fits_model(dataset, signature, path)
    return dataset


def arrange_inputs(
    inputs: dict[str, np.ndarray],
    signature: InputSignature,
    declared: IOSpec,
    path: Path | str,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    found: list[str] | None = None,
) -> Dataset:
    """A dataset whose inputs follow the data spec: samples axes resolved (declared, else inferred from the
    signature), a missing recurrent state filled with zeros, a scalar stored as (1,) given the model's rank 0, and
    an undeclared input that holds the model's whole fixed shape (while the others hold many samples) read as a
    constant. Refuses a missing input naming what to add."""
    resolved = resolve_inputs(signature, declared)
    axes = axes_of(resolved)
    notes = [r.reason for r in resolved.values() if r.kind != "batch" or r.batch_axis or r.declared]
    batched = [n for n in inputs if axes.get(n) is not None]
    counts = [inputs[n].shape[axes[n]] for n in batched if inputs[n].ndim > (axes[n] or 0)]  # type: ignore[index]
    n = labels.shape[0] if labels is not None and labels.ndim else (max(counts) if counts else 1)
    for spec in signature.inputs:
        arr = inputs.get(spec.name)
        r = resolved[spec.name]
        if arr is None:
            continue
        if r.kind == "constant" and not spec.shape and arr.size == 1 and arr.ndim:
            inputs[spec.name] = arr.reshape(())
        fixed = all(isinstance(d, int) and d >= 0 for d in spec.shape)
        axis = axes[spec.name]
        if (
            not r.declared
            and axis is not None
            and fixed
            and spec.shape
            and list(arr.shape) == list(spec.shape)
            and arr.shape[axis] != n
        ):
            axes[spec.name] = None
            notes.append(
                f"'{spec.name}' holds the model's whole fixed shape {list(spec.shape)} while the data has {n} "
                "samples → one value fed with every batch"
            )
    missing = []
    for spec in signature.inputs:
        r = resolved[spec.name]
        if spec.name in inputs:
            continue
        if r.kind == "state" and r.batch_axis is not None:
            dims = [n if i == r.batch_axis else d for i, d in enumerate(spec.shape)]
            if all(isinstance(d, int) and d >= 0 for d in dims):
                inputs[spec.name] = np.zeros(dims, dtype=spec.dtype)  # type: ignore[arg-type]
                notes.append(f"'{spec.name}' is not in the data: every sample starts from the zero state")
                continue
        missing.append(spec.name)
    if missing:
        names = signature.input_names
        hint = "an array 'x'" if len(names) == 1 else "one array per model input"
        kinds = {m: resolved[m].kind for m in missing}
        if any(k == "constant" for k in kinds.values()):
            hint += " (a scalar input such as a sample rate: np.array(16000))"
        raise DataError(
            f"has no array for model input(s) {missing} (found: {sorted(found or inputs)})", path, f"add {hint}"
        )
    ordered = {s.name: inputs[s.name] for s in signature.inputs}
    return Dataset(
        inputs=ordered, labels=labels, groups=groups, source=str(path), axes=axes, notes=list(dict.fromkeys(notes))
    )


def load_image_folder(path: Path, signature: InputSignature) -> Dataset:
    """Images in class sub-folders (`cats/…`, `dogs/…`), resized to the model input, scaled to 0..1."""
    from PIL import Image

    path = Path(path)
    if not path.is_dir():
        raise DataError("is not a folder", path, "give a folder with one sub-folder of images per class")
    if len(signature.inputs) != 1:
        raise DataError(
            "an image folder feeds one input, but the model has several", path, "use an .npz with one array per input"
        )
    spec = signature.inputs[0]
    layout, channels, height, width = _image_layout(spec, path)
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if not classes:
        raise DataError(
            "has no class sub-folders", path, "put the images (or .wav clips) of each class in their own sub-folder"
        )
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        for f in sorted((path / cls).iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES or not f.is_file():
                continue
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if channels == 1 else "RGB").resize((width, height))
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except Exception:
                raise DataError("is not a readable image", f, "remove or replace it") from None
            arr = arr[:, :, None] if arr.ndim == 2 else arr
            images.append(arr.transpose(2, 0, 1) if layout == "NCHW" else arr)
            labels.append(label)
    if not images:
        raise DataError("has no images in its class sub-folders", path, f"add files ending in {sorted(IMAGE_SUFFIXES)}")
    x = np.stack(images).astype(spec.dtype if spec.dtype.startswith("float") else "float32")
    return Dataset(inputs={spec.name: x}, labels=np.asarray(labels, dtype=np.int64), source=str(path))


def _image_layout(spec: TensorSpec, path: Path) -> tuple[str, int, int, int]:
    shape = spec.shape
    if len(shape) != 4 or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
        raise DataError(
            f"the model input {spec.name}{shape} is not a fixed-size image (N,C,H,W or N,H,W,C)",
            path,
            "use an .npz instead",
        )
    _, a, b, c = shape
    if a in (1, 3):
        return "NCHW", int(a), int(b), int(c)
    if c in (1, 3):
        return "NHWC", int(c), int(a), int(b)
    raise DataError(f"cannot tell the channel axis of input {spec.name}{shape}", path, "use an .npz instead")


def load_data(path: Path, signature: InputSignature, io: IOSpec | None = None) -> Dataset:
    from shrinkwise.compression import audio  # wav folders and waveform .npz: features are computed on intake

    path = Path(path)
    if audio.is_audio(path):
        return audio.load_audio(path, signature)
    if path.is_dir():
        return load_image_folder(path, signature)
    if path.suffix.lower() == ".npz":
        return load_npz(path, signature, io)
    raise DataError(
        "is not a data file Shrinkwise reads", path, "use an .npz file or a folder of images in class sub-folders"
    )


def check_declared_size(
    signature: InputSignature, samples: int = 1, path: Path | str | None = None, io: IOSpec | None = None
) -> None:
    """Refuse input shapes whose data could never fit (1x1x100000x100000 would ask for 37 GiB per sample)."""
    axes = axes_of(resolve_inputs(signature, io))
    for spec in signature.inputs:
        shape = spec.concrete_shape(batch=samples, batch_axis=axes[spec.name])
        nbytes = math.prod(shape) * np.dtype(spec.dtype).itemsize
        if nbytes > MAX_DATA_BYTES:
            raise DataError(
                f"input '{spec.name}' {spec.shape} needs {_gib(nbytes)} for {samples} sample(s), over the "
                f"{_gib(MAX_DATA_BYTES)} limit",
                path,
                "check the declared input shape (--input-shape), or raise SHRINKWISE_MAX_DATA_BYTES",
            )


def generated_inputs(signature: InputSignature, samples: int = 32, seed: int = 0, io: IOSpec | None = None) -> Dataset:
    """Synthetic inputs for profiling and latency when the user has no data; never used for quality."""
    check_declared_size(signature, samples, io=io)
    resolved = resolve_inputs(signature, io)
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        shape = spec.concrete_shape(batch=samples, batch_axis=resolved[spec.name].batch_axis)
        dtype = np.dtype(spec.dtype)
        if resolved[spec.name].kind == "state":
            inputs[spec.name] = np.zeros(shape, dtype=dtype)
        elif np.issubdtype(dtype, np.integer):  # token ids, attention masks, segment ids
            if "mask" in spec.name:
                inputs[spec.name] = np.ones(shape, dtype=dtype)
            elif "type" in spec.name:
                inputs[spec.name] = np.zeros(shape, dtype=dtype)
            else:
                inputs[spec.name] = rng.integers(0, 100, shape).astype(dtype)
        elif dtype == np.bool_:
            inputs[spec.name] = np.ones(shape, dtype=bool)
        else:
            inputs[spec.name] = rng.standard_normal(shape).astype(dtype)
    return Dataset(inputs=inputs, source="generated", generated=True, axes=axes_of(resolved))


# --- checks ------------------------------------------------------------------------------------------------------


def check_fits_model(dataset: Dataset, signature: InputSignature, path: Path | str) -> None:
    """Refuse data that cannot work: wrong shape, mismatched sample counts, NaN/Inf."""
    axes = dataset.axes
    counts = {
        k: (int(v.shape[axes.get(k, 0) or 0]) if v.ndim else -1)
        for k, v in dataset.inputs.items()
        if axes.get(k, 0) is not None
    }
    if dataset.labels is not None:
        counts["y"] = len(dataset.labels)
    if dataset.groups is not None:
        counts["groups"] = len(dataset.groups)
    if len(set(counts.values())) > 1:
        raise DataError(
            f"arrays have different sample counts {counts}",
            path,
            "give every array the same number of samples (on its samples axis: see --input NAME=KIND:AXIS), or "
            "declare a value shared by every sample with --input NAME=constant",
        )
    for spec in signature.inputs:
        arr = dataset.inputs[spec.name]
        expected = spec.shape
        axis = axes.get(spec.name, 0)
        if arr.ndim != len(expected) or any(
            isinstance(e, int) and e > 0 and i != axis and a != e
            for i, (a, e) in enumerate(zip(arr.shape, expected, strict=False))
        ):
            where = "samples on the first axis" if axis == 0 else f"samples on axis {axis}"
            raise DataError(
                f"array '{spec.name}' has shape {list(arr.shape)} but the model expects {expected}",
                path,
                f"reshape the data ({where}) or override the model's input signature",
            )
        if np.issubdtype(arr.dtype, np.floating):
            bad = ~np.isfinite(dataset.samples_first(spec.name).reshape(counts.get(spec.name, 1), -1)).all(axis=1)
            if bad.any():
                where = np.nonzero(bad)[0][:5].tolist()
                raise DataError(
                    f"array '{spec.name}' has NaN or Inf values in {int(bad.sum())} samples (e.g. {where})",
                    path,
                    "clean or drop those samples",
                )
        elif not np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_:
            raise DataError(f"array '{spec.name}' has dtype {arr.dtype}, not numeric", path, "save numeric arrays")
    if dataset.labels is not None and not np.issubdtype(dataset.labels.dtype, np.integer):
        raise DataError(
            f"labels 'y' have dtype {dataset.labels.dtype}, expected integers", path, "save class indices as integers"
        )
    check_label_range(dataset, signature, path)


def model_classes(signature: InputSignature) -> int | None:
    """How many classes the model scores: the fixed last axis of its single output (None when unknown)."""
    if len(signature.outputs) != 1:
        return None
    shape = signature.outputs[0].shape
    last = shape[-1] if shape else None
    return last if isinstance(last, int) and not isinstance(last, bool) and last > 1 else None


def check_label_range(dataset: Dataset, signature: InputSignature, path: Path | str) -> None:
    """Labels must be class indices the model can output: 1000 for a 10-class model would count as always wrong."""
    classes = model_classes(signature)
    if dataset.labels is None or classes is None or len(dataset.labels) == 0:
        return
    labels = dataset.labels
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= classes:
        bad = int(((labels < 0) | (labels >= classes)).sum())
        raise DataError(
            f"labels 'y' range from {low} to {high} but the model has {classes} classes (0..{classes - 1}); "
            f"{bad} samples are out of range",
            path,
            "save class indices 0..N-1 in the model's class order",
        )


def seeded_split(n: int, first: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The engine's one seeded split: range(n) shuffled by `seed` and cut after `first`, as (head, rest) in that
    shuffled order. Sort a part to keep the data's order in a subset; `rest[:k]` is k random samples of the rest.
    The project's evaluation/training/calibration sets, a technique's validation hold-out and the demo's held-out
    data all come from it, so one seed always means the same samples."""
    order = np.random.default_rng(seed).permutation(n)
    return order[:first], order[first:]


def split(
    dataset: Dataset, calibration_count: int, evaluation_fraction: float, seed: int = 0
) -> tuple[Dataset, Dataset, Dataset]:
    """A single data file as (calibration, evaluation, training): evaluation first, training the rest, calibration
    the first `calibration_count` of the training samples (so calibration never overlaps evaluation)."""
    n_eval = max(1, int(round(evaluation_fraction * len(dataset))))
    evaluation, rest = seeded_split(len(dataset), n_eval, seed)
    return (
        dataset.subset(np.sort(rest[:calibration_count])),
        dataset.subset(np.sort(evaluation)),
        dataset.subset(np.sort(rest)),
    )


def health(dataset: Dataset, role: str = "all", calibration_count: int | None = None) -> DataHealth:
    n = len(dataset)
    warnings: list[HealthWarning] = [HealthWarning(code="data_spec", severity="info", message=m) for m in dataset.notes]
    stats = []
    for name, arr in dataset.inputs.items():
        a = arr.astype(np.float64, copy=False)
        stats.append(
            InputStats(
                name=name,
                shape=list(arr.shape),
                dtype=str(arr.dtype),
                samples_axis=dataset.axes.get(name, 0),
                min=float(a.min()),
                max=float(a.max()),
                mean=float(a.mean()),
                std=float(a.std()),
            )
        )
        if np.issubdtype(arr.dtype, np.floating) and float(np.abs(a).max()) > 1e3:
            warnings.append(
                HealthWarning(
                    code="large_values",
                    message=f"'{name}' has values up to {float(np.abs(a).max()):.3g}; is it normalised the way the model was trained?",
                )
            )
    flat = np.concatenate(
        [
            dataset.samples_first(k).reshape(n, -1).astype(np.float32, copy=False).view(np.uint8).reshape(n, -1)
            for k in dataset.inputs
            if dataset.axes.get(k, 0) is not None
        ]
        or [np.zeros((n, 0), np.uint8)],
        axis=1,
    )
    duplicates = n - len({row.tobytes() for row in flat})
    if duplicates:
        warnings.append(
            HealthWarning(
                code="duplicates",
                message=f"{duplicates} samples are exact duplicates; they count twice in accuracy and calibration",
            )
        )
    class_counts: dict[str, int] = {}
    if dataset.labels is not None:
        values, counts = np.unique(dataset.labels, return_counts=True)
        class_counts = {str(v): int(c) for v, c in zip(values, counts, strict=False)}
        if len(counts) > 1 and counts.max() > 5 * counts.min():
            warnings.append(
                HealthWarning(
                    code="class_imbalance",
                    message=f"classes are skewed (largest {counts.max()}, smallest {counts.min()} samples); accuracy hides the rare classes — check per-class results",
                )
            )
        if counts.min() < 5:
            warnings.append(
                HealthWarning(
                    code="rare_class",
                    message="some classes have fewer than 5 samples; their per-class accuracy is noise",
                )
            )
    elif not dataset.generated:
        warnings.append(
            HealthWarning(
                code="no_labels",
                severity="info",
                message="no labels ('y'): quality is measured as agreement with the original model only",
            )
        )
    group_counts: dict[str, int] = {}
    if dataset.groups is not None:
        values, counts = np.unique(dataset.groups, return_counts=True)
        group_counts = {str(v): int(c) for v, c in zip(values, counts, strict=False)}
        if counts.min() < 20:
            warnings.append(
                HealthWarning(
                    code="small_subgroup",
                    message=f"a subgroup has only {counts.min()} samples; its accuracy is uncertain",
                )
            )
    if dataset.generated:
        warnings.append(
            HealthWarning(
                code="generated",
                severity="info",
                message="generated inputs: fine for size and latency, meaningless for quality",
            )
        )
    if (
        calibration_count is not None
        and calibration_count < MIN_CALIBRATION
        and role in ("all", "calibration", "training")
    ):
        warnings.append(
            HealthWarning(
                code="tiny_calibration",
                message=f"only {calibration_count} calibration samples; int8 ranges from fewer than {MIN_CALIBRATION} are often unrepresentative — add more real inputs",
            )
        )
    if n < 30 and role in ("all", "evaluation"):
        warnings.append(
            HealthWarning(
                code="tiny_evaluation",
                message=f"only {n} samples to evaluate on; one flipped answer moves accuracy by {100 / max(n, 1):.1f} points",
            )
        )
    return DataHealth(
        samples=n,
        generated=dataset.generated,
        has_labels=dataset.labels is not None,
        has_groups=dataset.groups is not None,
        class_counts=class_counts,
        group_counts=group_counts,
        duplicates=int(duplicates),
        inputs=stats,
        warnings=warnings,
    )
