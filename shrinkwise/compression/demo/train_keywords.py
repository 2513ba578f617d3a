"""Train the speech demo's keyword spotter on synthetic keywords; write its shipped weights and check file.

Deterministic (fixed seeds, one thread, deterministic algorithms). Run from the repository root:
    .venv/bin/python -m shrinkwise.compression.demo.train_keywords
Data: `make_keywords.make_clips` (synthetic, see there); the features are the engine's own
(`compression.audio.compute_features`), so training and the demo project's intake read clips alike. The held-out
set uses another seed (EVAL_SEED): those clips are never trained on, and the demo project evaluates on them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
WEIGHTS = "keyword_spotter.pt"
CHECK = (
    "keywords_check.npz"  # one held-out clip per class and the trained model's scores on it (a reproducibility check)
)
FRAMES, MEL_BANDS = 98, 40
TRAIN_SEED, EVAL_SEED, CALIBRATION_SEED = 0, 1, 2
TRAIN_PER_CLASS, EVAL_PER_CLASS, CALIBRATION_PER_CLASS = 120, 40, 24


def model_input(waveform: np.ndarray) -> np.ndarray:
    """int16 clips -> float32 N x 1 x 98 x 40 log-mel frames, exactly as the engine's audio intake computes them."""
    from shrinkwise.compression.audio import AudioFeatures, compute_features

    clips = list(waveform.astype(np.float32) / 32768.0)
    return compute_features(clips, AudioFeatures(), FRAMES, MEL_BANDS)[:, None]


def train(out: Path, epochs: int, seed: int = 0) -> float:
    import torch

    from shrinkwise.compression.demo.keyword_spotter import KeywordSpotter
    from shrinkwise.compression.demo.make_keywords import CLASSES, make_clips

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_clips = make_clips(TRAIN_PER_CLASS, TRAIN_SEED)
    held_out = make_clips(EVAL_PER_CLASS, EVAL_SEED)
    x, y = torch.from_numpy(model_input(train_clips.waveform)), torch.from_numpy(train_clips.y)
    xe, ye = torch.from_numpy(model_input(held_out.waveform)), torch.from_numpy(held_out.y)
    rng = np.random.default_rng(seed + 1)
    model = KeywordSpotter(mel_bands=MEL_BANDS, classes=len(CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    acc = 0.0
    for epoch in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(perm), 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(xe).argmax(1) == ye).float().mean())
        print(f"epoch {epoch + 1}/{epochs} loss {loss.item():.4f} held-out accuracy {acc:.4f}", flush=True)
    torch.save(model.state_dict(), out)
    return acc


def write_check(weights: Path, out: Path) -> None:
    """The first held-out clip of each class and the model's scores on it: a test regenerates both and compares, so
    a change in the generator, the features or the weights is caught instead of silently moving the demo's numbers."""
    import torch

    from shrinkwise.compression.demo.keyword_spotter import KeywordSpotter
    from shrinkwise.compression.demo.make_keywords import CLASSES, make_clips

    held_out = make_clips(EVAL_PER_CLASS, EVAL_SEED)
    index = np.array([int(np.nonzero(held_out.y == c)[0][0]) for c in range(len(CLASSES))])
    model = KeywordSpotter(mel_bands=MEL_BANDS, classes=len(CLASSES))
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(model_input(held_out.waveform[index]))).numpy()
    np.savez_compressed(out, index=index, waveform=held_out.waveform[index], y=held_out.y[index], scores=scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", type=Path, default=HERE / WEIGHTS)
    args = parser.parse_args()
    train(args.out, args.epochs)
    write_check(args.out, args.out.with_name(CHECK))


if __name__ == "__main__":
    main()
