"""Helpers for the technique tests: tiny models built in code, seeded synthetic data, running a technique."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shrinkwise.compression.technique_api import Artifact, LabelledData, TechniqueContext, drive


@dataclass
class Task:
    """A trained model with its ONNX export and data splits."""

    onnx_path: Path
    factory: Callable[[], Any]  # fresh torch module with the trained weights
    train: LabelledData
    validation: LabelledData
    calibration: LabelledData

    def ctx(self, out_dir: Path, **kw: Any) -> TechniqueContext:
        out_dir.mkdir(parents=True, exist_ok=True)
        base: dict[str, Any] = dict(
            onnx_path=self.onnx_path,
            out_dir=out_dir,
            calibration=self.calibration,
            train=self.train,
            validation=self.validation,
            torch_model=self.factory,
            seed=0,
        )
        base.update(kw)
        return TechniqueContext(**base)


def export(model: Any, example: Any, path: Path) -> Path:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (example,),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=18,
        )
    return path


def train(model: Any, x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> Any:
    import torch

    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 32):
            idx = perm[i : i + 32]
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(logits).argmax(axis=1) == labels))


def blobs(n: int, dim: int, classes: int, seed: int, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around fixed class means (means from seed 1234, samples from `seed`)."""
    means = np.random.default_rng(1234).normal(size=(classes, dim)) * 2.5
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    x = means[y] + rng.normal(scale=spread, size=(n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def bar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """1×12×12 images: class c has a bright bar (rows or columns, two positions) plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    x = rng.normal(scale=0.5, size=(n, 1, 12, 12))
    for i, c in enumerate(y):
        if c == 0:
            x[i, 0, 2:4, :] += 2.0
        elif c == 1:
            x[i, 0, 8:10, :] += 2.0
        elif c == 2:
            x[i, 0, :, 2:4] += 2.0
        else:
            x[i, 0, :, 8:10] += 2.0
    return x.astype(np.float32), y.astype(np.int64)


def mlp(dim: int = 16, hidden: int = 64, classes: int = 4) -> Any:
    import torch.nn as nn

    return nn.Sequential(
        nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes)
    )


def cnn() -> Any:
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 3 * 3, 32),
        nn.ReLU(),
        nn.Linear(32, 4),
    )


def make_task(
    model: Any, make_data: Callable[[int, int], tuple[np.ndarray, np.ndarray]], epochs: int, path: Path
) -> Task:
    import torch

    torch.manual_seed(0)
    x, y = make_data(1000, 1)
    vx, vy = make_data(300, 2)
    model = train(model, x, y, epochs)
    export(model, torch.from_numpy(x[:1]), path)
    state = copy.deepcopy(model.state_dict())
    template = copy.deepcopy(model)

    def factory() -> Any:
        m = copy.deepcopy(template)
        m.load_state_dict(state)
        return m.eval()

    return Task(
        onnx_path=path,
        factory=factory,
        train=LabelledData({"x": x}, y),
        validation=LabelledData({"x": vx}, vy),
        calibration=LabelledData({"x": x[:128]}),
    )


def run(apply: Callable[..., Any], ctx: TechniqueContext, config: Any) -> tuple[list[Any], Artifact]:
    """Drive a technique generator to the end: its events and the artifact it returns."""
    events: list[Any] = []
    artifact = drive(apply(ctx, config), events.append)
    assert (ctx.out_dir / artifact.path).is_file()
    assert artifact.size_bytes == (ctx.out_dir / artifact.path).stat().st_size
    assert artifact.summary
    return events, artifact


def outputs(path: Path, x: np.ndarray) -> np.ndarray:
    from shrinkwise.compression.measure.runtime import make_session, run_batches

    return run_batches(make_session(path), {"x": x})[0]


def x86_without_vnni() -> bool:
    """An x86 host whose int8 dot products go through 16-bit sums that can saturate (no VNNI): ONNX Runtime's
    guidance, and the advisor's (int8-saturation-on-x86-without-vnni), is 7-bit weights (reduce_range) there."""
    from shrinkwise.cpuflags import int8_gemm_saturates

    return int8_gemm_saturates()
