"""Make the demo's shipped files: `digits.npz` (from scikit-learn) and `digits_cnn.pt` (trained weights).

Deterministic (fixed seeds, one thread, deterministic algorithms). Run from the repository root:
    .venv/bin/python -m shrinkwise.compression.demo.train_digits
The subgroup labels are the ink level of each image (light/medium/heavy by tercile of total ink), a stand-in for
the kind of slice (writer, device, lighting) a real project would have.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from shrinkwise.compression.data import seeded_split

HERE = Path(__file__).parent


def make_dataset(out: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16
    ink = images.reshape(len(images), -1).sum(axis=1)
    cuts = np.quantile(ink, [1 / 3, 2 / 3])
    groups = np.where(ink <= cuts[0], "light_ink", np.where(ink <= cuts[1], "medium_ink", "heavy_ink"))
    np.savez_compressed(out, images=images, y=digits.target.astype(np.int64), groups=groups.astype("U10"))


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 0..16 images -> float32 N x 1 x 8 x 8 in 0..1, the demo model's input."""
    return (images.astype(np.float32) / 16.0)[:, None, :, :]


def split_indices(n: int, seed: int = 0, train_fraction: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """The demo's fixed train / held-out split; the demo project evaluates on the held-out part only."""
    train, held_out = seeded_split(n, int(train_fraction * n), seed)
    return np.sort(train), np.sort(held_out)


def train(npz: Path, out: Path, epochs: int, seed: int = 0) -> float:
    import torch

    from shrinkwise.compression.demo.digits_cnn import DigitsCNN

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = np.load(npz)
    x = torch.from_numpy(to_model_input(data["images"]))
    y = torch.from_numpy(data["y"])
    tr, te = split_indices(len(x), seed)
    rng = np.random.default_rng(seed + 1)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(tr))
        for i in range(0, len(perm), 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(x[te]).argmax(1) == y[te]).float().mean())
        print(f"epoch {epoch + 1}/{epochs} held-out accuracy {acc:.4f}")
    torch.save(model.state_dict(), out)
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    npz = HERE / "digits.npz"
    make_dataset(npz)
    train(npz, HERE / "digits_cnn.pt", args.epochs)


if __name__ == "__main__":
    main()
