"""PyTorch helpers shared by the training techniques (structured pruning, distillation, pruning with fine-tuning).

The training loop yields events at every batch (so cancel is prompt) and stops early when the time budget is spent.
Data follows the data spec: each input is sliced along its own samples axis (a constant is fed whole), and the
loss and validation number follow the primary output's task (`_objective`). Exports go through the legacy
TorchScript exporter (fast on small models) with the original ONNX input and output names and its dynamic axes, so
that the result drops into the same measuring code as every other candidate. torch is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import io
import random
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shrinkwise.compression.data import seeded_split
from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine, MetricPoint, Progress
from shrinkwise.compression.io_spec import take
from shrinkwise.compression.onnx_export import ONNX_OPSET
from shrinkwise.compression.technique_api import LabelledData, TechniqueContext, TechniqueEvent
from shrinkwise.compression.techniques._objective import LossFn, Objective

if TYPE_CHECKING:  # pragma: no cover
    import torch

TORCH_MODEL_HELP = "the model in PyTorch (a state dict + architecture, TorchScript or .pt2)"
EXPORT_OPSET = ONNX_OPSET  # one opset for every torch export


def require_torch_and_training(
    ctx: TechniqueContext, technique: str, needs_labels: bool = True, task: str | None = None
) -> None:
    """Raise a one-line TechniqueError naming what a training technique is missing (labels only where the primary
    output's task needs them)."""
    missing = []
    if ctx.torch_model is None:
        missing.append(TORCH_MODEL_HELP)
    if ctx.train is None:
        missing.append("labelled training data")
    elif ctx.train.labels is None and needs_labels:
        why = f" (the primary output's task is {task})" if task else ""
        missing.append(f"labels for the training data (the inputs are there, the labels are not){why}")
    if missing:
        raise TechniqueError(
            f"{technique} needs {TORCH_MODEL_HELP} and labelled training data; missing: {'; '.join(missing)}",
            fix="add the PyTorch model and a labelled training set to the project, or pick a technique that works "
            "on the ONNX file alone (fp16, int8_dynamic, int8_static, int4_weight_only, palettize)",
        )


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():  # pragma: no cover - no GPU in the tests
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Silence the exporter's and tracer's deprecation chatter and prints (stdout is the worker's event pipe)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def is_scripted(model: Any) -> bool:
    import torch

    return isinstance(model, torch.jit.ScriptModule)


# ---------------------------------------------------------------- data


@dataclass
class Split:
    inputs: list[np.ndarray]  # one array per model input, in the ONNX input order
    labels: np.ndarray | None
    axes: list[int | None] = field(default_factory=list)  # each input's samples axis (absent: 0; None: a constant)

    def axis(self, i: int) -> int | None:
        return self.axes[i] if i < len(self.axes) else 0

    def __len__(self) -> int:
        for i, a in enumerate(self.inputs):
            axis = self.axis(i)
            if axis is not None:
                return int(a.shape[axis]) if a.ndim > axis else 1
        return 0 if self.labels is None else len(self.labels)

    def subset(self, idx: Any) -> Split:
        return Split(
            [take(a, self.axis(i), idx) for i, a in enumerate(self.inputs)],
            None if self.labels is None else self.labels[idx],
            list(self.axes),
        )


def _arrays(data: LabelledData, input_names: list[str], what: str) -> list[np.ndarray]:
    missing = [n for n in input_names if n not in data.inputs]
    if missing:
        raise TechniqueError(
            f"the {what} has no array for model input(s) {missing}", fix=f"give arrays named {input_names}"
        )
    out = []
    for n in input_names:
        a = np.asarray(data.inputs[n])
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        out.append(a)
    return out


def _split(data: LabelledData, input_names: list[str], what: str) -> Split:
    labels = None if data.labels is None else np.asarray(data.labels).astype(np.int64).ravel()
    return Split(_arrays(data, input_names, what), labels, [data.axes.get(n, 0) for n in input_names])


@dataclass
class TrainingSetup:
    source: Any  # the step's input model (onnx.ModelProto), for counting MACs/parameters against it
    input_names: list[str]
    output_names: list[str]
    train: Split
    val: Split
    held_out: bool  # the validation split came out of the training data
    objective: Objective

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return source_dynamic_axes(self.source, self.input_names, self.output_names, self.train.axes)


def training_setup(ctx: TechniqueContext, what: str, message: str) -> Generator[TechniqueEvent, None, TrainingSetup]:
    """The common start of a training technique: check what it needs, seed, read the I/O names, split the data,
    and choose the loss from the primary output's task (refused before training when it is not supported).

    Use as `setup = yield from training_setup(ctx, "distillation", "loading the teacher")`.
    """
    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.techniques._objective import find_objective

    require_torch_and_training(ctx, what, needs_labels=False)
    seed_everything(ctx.seed)
    yield Progress(fraction=0.0, message=message)
    src = ou.load(ctx.onnx_path)
    input_names, output_names = ou.graph_input_names(src), ou.graph_output_names(src)
    train, val, held_out = train_val_split(ctx, input_names)
    objective = find_objective(ctx, what, input_names, output_names, train)
    if objective.needs_labels:
        require_torch_and_training(ctx, what, needs_labels=True, task=objective.task)
    target = "its labels" if objective.needs_labels else "the original model's outputs"
    yield LogLine(
        text=f"training on output '{objective.output}' as {objective.task}, towards {target}: {objective.reason}"
    )
    if held_out:
        yield LogLine(text=f"no validation data: holding out {len(val)} training sample(s) for validation")
    return TrainingSetup(src, input_names, output_names, train, val, held_out, objective)


def train_val_split(ctx: TechniqueContext, input_names: list[str], holdout: float = 0.1) -> tuple[Split, Split, bool]:
    """Training and validation splits (each input cut along its samples axis); without ctx.validation a seeded
    10 % hold-out of training is used.

    Returns (train, val, held_out) where held_out says the validation split came out of the training data.
    """
    assert ctx.train is not None
    train = _split(ctx.train, input_names, "training data")
    if ctx.validation is not None and (ctx.validation.labels is not None or train.labels is None):
        return train, _split(ctx.validation, input_names, "validation data"), False
    n = len(train)
    n_val = max(1, int(round(n * holdout))) if n > 1 else 0
    val_idx, tr_idx = seeded_split(n, n_val, ctx.seed)
    if len(tr_idx) == 0:
        tr_idx = val_idx
    return train.subset(tr_idx), train.subset(val_idx), True


def to_tensors(
    arrays: list[np.ndarray], idx: Any, device: str, axes: list[int | None] | None = None
) -> list[torch.Tensor]:
    """Samples `idx` of every input along its samples axis (constants whole), as tensors."""
    import torch

    axes = axes or []
    return [torch.from_numpy(take(a, axes[i] if i < len(axes) else 0, idx)).to(device) for i, a in enumerate(arrays)]


def forward(model: torch.nn.Module, xs: list[torch.Tensor], output: int = 0) -> torch.Tensor:
    """Call the model and return output number `output` (the primary output; the first by default)."""
    out = model(*xs)
    if isinstance(out, (tuple, list)):
        out = out[output]
    elif isinstance(out, dict):
        out = list(out.values())[output]
    return out


def predict(
    model: torch.nn.Module,
    arrays: list[np.ndarray],
    device: str,
    batch_size: int = 256,
    axes: list[int | None] | None = None,
    output: int = 0,
    output_axis: int = 0,
) -> np.ndarray:
    """Output number `output` over all samples, samples first (gathered along `output_axis`)."""
    import torch

    model.eval()
    n = len(Split(arrays, None, list(axes or [])))
    outs = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = slice(start, min(start + batch_size, n))
            outs.append(forward(model, to_tensors(arrays, idx, device, axes), output).float().cpu().numpy())
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return np.moveaxis(np.concatenate(outs, axis=output_axis), output_axis, 0)


def predict_split(model: torch.nn.Module, split: Split, device: str, objective: Objective) -> np.ndarray:
    """The primary output of `model` on every sample of `split`, samples first."""
    return predict(
        model, split.inputs, device, axes=split.axes, output=objective.index, output_axis=objective.output_axis
    )


def example_inputs(
    arrays: list[np.ndarray], device: str = "cpu", n: int = 1, axes: list[int | None] | None = None
) -> list[torch.Tensor]:
    return to_tensors(arrays, slice(0, n), device, axes)


# ---------------------------------------------------------------- training


@dataclass
class FitResult:
    epochs_done: int = 0
    stopped_early: bool = False
    train_loss: list[float] = field(default_factory=list)
    val_metric: str = "accuracy"  # what val_scores hold: the primary output's validation number
    val_scores: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def val_accuracy(self) -> list[float]:
        return self.val_scores if self.val_metric == "accuracy" else []


def fit(
    model: torch.nn.Module,
    ctx: TechniqueContext,
    train: Split,
    val: Split,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    device: str,
    loss_fn: LossFn | None = None,
    after_step: Callable[[], None] | None = None,
    val_extra: Callable[[np.ndarray], dict[str, float]] | None = None,
    progress: tuple[float, float] = (0.0, 1.0),
    objective: Objective | None = None,
    val_reference: np.ndarray | None = None,
) -> Generator[TechniqueEvent, None, FitResult]:
    """Adam over `epochs`, yielding Progress each batch and MetricPoints ("train_loss", the validation number, plus
    the keys of `val_extra(val_outputs)`) each epoch. Stops at a batch boundary when ctx.over_time_budget().

    With an `objective` the primary output is trained and judged by its task (`val_reference`: the original
    model's outputs on `val`, for tasks judged against it); without one, cross-entropy on output 0 and accuracy."""
    import torch

    labelled = val.labels is not None
    result = FitResult(val_metric=objective.val_metric(labelled) if objective is not None else "accuracy")
    series = "val_accuracy" if result.val_metric == "accuracy" else f"val_{result.val_metric}"
    if epochs <= 0 or len(train) == 0:
        return result
    model.to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(ctx.seed)
    labels_all = None if train.labels is None else torch.from_numpy(train.labels)
    index = 0 if objective is None else objective.index
    n = len(train)
    steps_per_epoch = max(1, (n + batch_size - 1) // batch_size)
    lo, hi = progress
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for b in range(steps_per_epoch):
            if ctx.over_time_budget():
                result.stopped_early = True
                break
            idx = order[b * batch_size : (b + 1) * batch_size]
            xs = to_tensors(train.inputs, idx.numpy(), device, train.axes)
            y = None if labels_all is None else labels_all[idx].to(device)
            out = forward(model, xs, index)
            if objective is not None and objective.output_axis:
                out = out.movedim(objective.output_axis, 0)
            if loss_fn is not None:
                loss = loss_fn(out, y, idx)
            else:
                assert y is not None, "cross-entropy needs labels"
                loss = ce(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            frac = lo + (hi - lo) * (epoch + (b + 1) / steps_per_epoch) / epochs
            yield Progress(
                fraction=min(max(frac, 0.0), 1.0),
                message=f"epoch {epoch + 1}/{epochs}, batch {b + 1}/{steps_per_epoch}",
            )
        if count == 0:
            break
        result.epochs_done = epoch + 1
        mean_loss = total / count
        result.train_loss.append(mean_loss)
        yield MetricPoint(series="train_loss", step=epoch + 1, value=mean_loss)
        score = None
        if len(val):
            if objective is not None:
                out_v = predict_split(model, val, device, objective)
                score = objective.score(out_v, out_v if val_reference is None else val_reference, val.labels)
            else:
                out_v = predict(model, val.inputs, device, axes=val.axes)
                score = float(np.mean(out_v.argmax(axis=1) == val.labels)) if labelled else None
        if score is not None:
            result.val_scores.append(score)
            yield MetricPoint(series=series, step=epoch + 1, value=score)
            if val_extra is not None:
                for key, value in val_extra(out_v).items():
                    result.extra.setdefault(key, []).append(value)
                    yield MetricPoint(series=key, step=epoch + 1, value=value)
            shown = result.val_metric.replace("_", " ")
            yield LogLine(text=f"epoch {epoch + 1}: train loss {mean_loss:.4f}, validation {shown} {score:.4f}")
        else:
            yield LogLine(text=f"epoch {epoch + 1}: train loss {mean_loss:.4f}")
        if result.stopped_early:
            break
    if result.stopped_early:
        yield LogLine(
            level="warning", text=f"time budget spent: stopped after {result.epochs_done} of {epochs} epoch(s)"
        )
    model.eval()
    return result


# ---------------------------------------------------------------- model surgery helpers


def last_layer(model: torch.nn.Module, example: list[torch.Tensor]) -> torch.nn.Module | None:
    """The last Linear/Conv module executed in a forward pass (the output layer, never to be pruned)."""
    import torch

    order: list[torch.nn.Module] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
        for m in model.modules()
        if isinstance(m, (torch.nn.Linear, torch.nn.modules.conv._ConvNd))
    ]
    try:
        model.eval()
        with torch.no_grad():
            forward(model, example)
    finally:
        for h in hooks:
            h.remove()
    return order[-1] if order else None


def count_macs_params(model: torch.nn.Module, example: list[torch.Tensor]) -> tuple[int, int]:
    """MACs and parameters of a torch module, counted by torch_pruning: the second MAC counter, on purpose.

    Structured pruning steers each pruning step by these counts on the torch module mid-pruning, before any ONNX of
    it exists (exporting after every step to use the one ONNX counter, `compression.profile.count_macs`, would cost
    an export per step). What is reported to the user is the ONNX count of the exported artifact; these torch counts
    are kept only as `torch_macs` in its details."""
    import torch_pruning as tp

    with quiet_torch():
        macs, params = tp.utils.count_ops_and_params(model, example[0] if len(example) == 1 else tuple(example))
    return int(macs), int(params)


# ---------------------------------------------------------------- export


def source_dynamic_axes(
    source: Any, input_names: list[str], output_names: list[str], input_axes: list[int | None]
) -> dict[str, dict[int, str]]:
    """The dynamic axes of the original graph's inputs and outputs, by their own names (`state [2, batch, 128]`
    keeps axis 1 dynamic, a scalar `sr` none); where the original fixed them all, the samples axis is made dynamic
    (axis 0 for outputs), as before."""
    by_name = {v.name: v for v in [*source.graph.input, *source.graph.output]}
    axes: dict[str, dict[int, str]] = {}
    for k, name in enumerate([*input_names, *output_names]):
        value = by_name.get(name)
        dims = list(value.type.tensor_type.shape.dim) if value is not None else []
        named = {i: d.dim_param for i, d in enumerate(dims) if d.dim_param}
        if named:
            axes[name] = named
            continue
        axis = (input_axes[k] if k < len(input_axes) else 0) if k < len(input_names) else 0
        shaped = value is not None and value.type.tensor_type.HasField("shape")
        if axis is not None and (not shaped or len(dims) > axis):
            axes[name] = {axis: "batch"}
    return axes


def export_onnx(
    model: torch.nn.Module,
    example: list[torch.Tensor],
    input_names: list[str],
    output_names: list[str],
    path: Path,
    opset: int = EXPORT_OPSET,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> int:
    """Export with the legacy exporter: original I/O names, the original's dynamic axes (default: axis 0 of every
    input and output), one self-contained file."""
    from shrinkwise.compression.onnx_export import export_module

    try:
        export_module(model, example, path, input_names, output_names, opset, dynamic_axes=dynamic_axes)
    except Exception as exc:  # noqa: BLE001 - export failures are the user's model's limits, said in one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TechniqueError(f"exporting the trained model to ONNX failed: {first}", path=path) from exc
    from shrinkwise.compression.onnx_utils import file_bytes

    return file_bytes(path)


def save_torchscript(model: torch.nn.Module, example: list[torch.Tensor], path: Path) -> str | None:
    """Save as TorchScript (loadable without unpickling). Returns None on success, else why it failed."""
    import torch

    model = model.to("cpu").eval()
    try:
        with quiet_torch():
            if is_scripted(model):
                scripted = model
            else:
                scripted = torch.jit.trace(model, tuple(t.to("cpu") for t in example), check_trace=False)
            scripted.save(str(path))
        return None
    except Exception as exc:  # noqa: BLE001 - optional output
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def load_torchscript(path: Path | str, device: str = "cpu") -> torch.nn.Module:
    import torch

    with quiet_torch():
        return torch.jit.load(str(path), map_location=device)


# ---------------------------------------------------------------- channel pruning (torch-pruning)


def channel_pruner(
    model: torch.nn.Module,
    example: list[torch.Tensor],
    *,
    pruning_ratio: float,
    steps: int,
    norm: int = 2,
    global_pruning: bool = False,
    round_to: int | None = None,
    what: str = "structured pruning",
) -> Any:
    """A torch-pruning MetaPruner with magnitude importance that never prunes the output layer."""
    import torch_pruning as tp

    if is_scripted(model):
        raise TechniqueError(
            f"{what} needs the model as a Python nn.Module (architecture + state dict); a TorchScript model can be "
            "fine-tuned but its channels cannot be removed",
            fix="load the model from its Python class and state dict",
        )
    out_layer = last_layer(model, example)
    ex = example[0] if len(example) == 1 else tuple(example)
    try:
        with quiet_torch():
            return tp.pruner.MetaPruner(
                model,
                ex,
                importance=tp.importance.MagnitudeImportance(p=norm),
                pruning_ratio=pruning_ratio,
                iterative_steps=steps,
                ignored_layers=[out_layer] if out_layer is not None else [],
                global_pruning=global_pruning,
                round_to=round_to if round_to and round_to > 1 else None,
            )
    except Exception as exc:  # noqa: BLE001 - tracing limits of torch-pruning, said in one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TechniqueError(f"{what}: torch-pruning could not trace the model ({first})") from exc
