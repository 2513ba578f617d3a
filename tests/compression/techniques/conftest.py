"""Session fixtures: tiny models trained on seeded synthetic data and exported to ONNX once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compression.techniques.helpers import Task, bar_images, blobs, cnn, export, make_task, mlp


@pytest.fixture(scope="session")
def mlp_task(tmp_path_factory: pytest.TempPathFactory) -> Task:
    import torch

    torch.manual_seed(0)
    return make_task(mlp(), lambda n, s: blobs(n, 16, 4, s), 5, tmp_path_factory.mktemp("mlp") / "mlp.onnx")


@pytest.fixture(scope="session")
def cnn_task(tmp_path_factory: pytest.TempPathFactory) -> Task:
    import torch

    torch.manual_seed(0)
    return make_task(cnn(), bar_images, 3, tmp_path_factory.mktemp("cnn") / "cnn.onnx")


@pytest.fixture(scope="session")
def wide_mlp_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained MLP with 256-wide layers (for the weight-only techniques)."""
    import torch

    torch.manual_seed(0)
    model = mlp(dim=256, hidden=256, classes=10)
    return export(model, torch.randn(1, 256), tmp_path_factory.mktemp("wide") / "wide.onnx")
