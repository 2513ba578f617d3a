"""PyTorch helpers shared by the training techniques (structured pruning, distillation, pruning with fine-tuning).

The training loop yields events at every batch (so cancel is prompt) and stops early when the time budget is spent.
Exports go through the legacy TorchScript exporter (fast on small models) with the original ONNX input and output
names and a dynamic batch axis, so that the result drops into the same measuring code as every other candidate.
torch is imported inside the functions.
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
from shrinkwise.compression.onnx_export import ONNX_OPSET
from shrinkwise.compression.techniques.base import LabelledData, TechniqueContext, TechniqueEvent

if TYPE_CHECKING:  # pragma: no cover
    import torch

TORCH_MODEL_HELP = "the model in PyTorch (a state dict + architecture, TorchScript or .pt2)"
EXPORT_OPSET = ONNX_OPSET  # one opset for every torch export


def require_torch_and_training(ctx: TechniqueContext, technique: str) -> None:
    """Raise a one-line TechniqueError naming what a training technique is missing."""
    missing = []
    if ctx.torch_model is None:
        missing.append(TORCH_MODEL_HELP)
    if ctx.train is None:
        missing.append("labelled training data")
    elif ctx.train.labels is None:
        missing.append("labels for the training data (the inputs are there, the labels are not)")
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
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


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


@dataclass
class TrainingSetup:
    source: Any  # the step's input model (onnx.ModelProto), for counting MACs/parameters against it
    input_names: list[str]
    output_names: list[str]
    train: Split
    val: Split
    held_out: bool  # the validation split came out of the training data


def training_setup(ctx: TechniqueContext, what: str, message: str) -> Generator[TechniqueEvent, None, TrainingSetup]:
    """The common start of a training technique: check what it needs, seed, read the I/O names, split the data.

    Use as `setup = yield from training_setup(ctx, "distillation", "loading the teacher")`.
    """
    from shrinkwise.compression.techniques import _onnx_utils as ou

    require_torch_and_training(ctx, what)
    seed_everything(ctx.seed)
    yield Progress(fraction=0.0, message=message)
    src = ou.load(ctx.onnx_path)
    input_names, output_names = ou.graph_input_names(src), ou.graph_output_names(src)
    train, val, held_out = train_val_split(ctx, input_names)
    if held_out:
        yield LogLine(text=f"no validation data: holding out {len(val)} training sample(s) for validation")
    return TrainingSetup(src, input_names, output_names, train, val, held_out)


def train_val_split(ctx: TechniqueContext, input_names: list[str], holdout: float = 0.1) -> tuple[Split, Split, bool]:
    """Training and validation splits; without ctx.validation a seeded 10 % hold-out of training is used.

    Returns (train, val, held_out) where held_out says the validation split came out of the training data.
    """
    assert ctx.train is not None and ctx.train.labels is not None
    x = _arrays(ctx.train, input_names, "training data")
    y = np.asarray(ctx.train.labels).astype(np.int64).ravel()
    if ctx.validation is not None and ctx.validation.labels is not None:
        vx = _arrays(ctx.validation, input_names, "validation data")
        vy = np.asarray(ctx.validation.labels).astype(np.int64).ravel()
        return Split(x, y), Split(vx, vy), False
    n = len(y)
    n_val = max(1, int(round(n * holdout))) if n > 1 else 0
    val_idx, tr_idx = seeded_split(n, n_val, ctx.seed)
    if len(tr_idx) == 0:
        tr_idx = val_idx
    return (
        Split([a[tr_idx] for a in x], y[tr_idx]),
        Split([a[val_idx] for a in x], y[val_idx]),
        True,
    )


def to_tensors(arrays: list[np.ndarray], idx: Any, device: str) -> list[torch.Tensor]:
    import torch

    return [torch.from_numpy(np.ascontiguousarray(a[idx])).to(device) for a in arrays]


def forward(model: torch.nn.Module, xs: list[torch.Tensor]) -> torch.Tensor:
    """Call the model and return its first output as the logits."""
    out = model(*xs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    elif isinstance(out, dict):
        out = next(iter(out.values()))
    return out


def predict(model: torch.nn.Module, arrays: list[np.ndarray], device: str, batch_size: int = 256) -> np.ndarray:
    import torch

    model.eval()
    n = len(arrays[0])
    outs = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = slice(start, min(start + batch_size, n))
            outs.append(forward(model, to_tensors(arrays, idx, device)).float().cpu().numpy())
    return np.concatenate(outs, axis=0) if outs else np.zeros((0,), dtype=np.float32)


def example_inputs(arrays: list[np.ndarray], device: str = "cpu", n: int = 1) -> list[torch.Tensor]:
    return to_tensors(arrays, slice(0, n), device)


# ---------------------------------------------------------------- training


LossFn = Callable[["torch.Tensor", "torch.Tensor", "torch.Tensor"], "torch.Tensor"]  # (logits, labels, batch idx)


@dataclass
class FitResult:
    epochs_done: int = 0
    stopped_early: bool = False
    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)


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
) -> Generator[TechniqueEvent, None, FitResult]:
    """Adam over `epochs`, yielding Progress each batch and MetricPoints ("train_loss", "val_accuracy", plus the
    keys of `val_extra(val_logits)`) each epoch. Stops at a batch boundary when ctx.over_time_budget()."""
    import torch

    result = FitResult()
    if epochs <= 0 or len(train) == 0:
        return result
    model.to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(ctx.seed)
    labels_all = torch.from_numpy(train.labels)
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
            xs = to_tensors(train.inputs, idx.numpy(), device)
            y = labels_all[idx].to(device)
            logits = forward(model, xs)
            loss = loss_fn(logits, y, idx) if loss_fn is not None else ce(logits, y)
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
        if len(val):
            logits_v = predict(model, val.inputs, device)
            acc = float(np.mean(logits_v.argmax(axis=1) == val.labels))
            result.val_accuracy.append(acc)
            yield MetricPoint(series="val_accuracy", step=epoch + 1, value=acc)
            if val_extra is not None:
                for key, value in val_extra(logits_v).items():
                    result.extra.setdefault(key, []).append(value)
                    yield MetricPoint(series=key, step=epoch + 1, value=value)
            yield LogLine(text=f"epoch {epoch + 1}: train loss {mean_loss:.4f}, validation accuracy {acc:.4f}")
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
    import torch_pruning as tp

    with quiet_torch():
        macs, params = tp.utils.count_ops_and_params(model, example[0] if len(example) == 1 else tuple(example))
    return int(macs), int(params)


# ---------------------------------------------------------------- export


def export_onnx(
    model: torch.nn.Module,
    example: list[torch.Tensor],
    input_names: list[str],
    output_names: list[str],
    path: Path,
    opset: int = EXPORT_OPSET,
) -> int:
    """Export with the legacy exporter: original I/O names, dynamic batch axis, one self-contained file."""
    from shrinkwise.compression.onnx_export import export_module

    try:
        export_module(model, example, path, input_names, output_names, opset)
    except Exception as exc:  # noqa: BLE001 - export failures are the user's model's limits, said in one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TechniqueError(f"exporting the trained model to ONNX failed: {first}", path=path) from exc
    from shrinkwise.compression.techniques._onnx_utils import file_bytes

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
