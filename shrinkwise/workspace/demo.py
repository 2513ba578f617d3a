"""Build the demo project from the shipped files: the digits CNN (state dict + architecture) and its data.

The data is written as two files so that evaluation uses only images the model never trained on: `digits_train.npz`
(training and calibration) and `digits_eval.npz` (the held-out 30 %, the same split the weights were trained with).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from shrinkwise.compression.demo import ARCHITECTURE_CLASS, ARCHITECTURE_FILE, demo_file
from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.compression.signature import TensorSpec
from shrinkwise.workspace.project import PROJECT_SUFFIX
from shrinkwise.workspace.session import Session

DEMO_NAME = "digits-demo"


def _model_input(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 16.0)[:, None, :, :]


def prepare_demo_folder(out_dir: Path | str, force: bool) -> Path:
    """The demo's folder with model/ and data/ in it; one that already holds a project is refused unless `force`
    (re-creating it would wipe its runs)."""
    out_dir = Path(out_dir).resolve()
    existing = sorted(out_dir.glob(f"*{PROJECT_SUFFIX}")) if out_dir.is_dir() else []
    if existing and not force:
        raise ProjectFileError(
            "already holds a project; building the demo there would replace it and its runs",
            existing[0],
            "choose another --out folder, or add --force to replace it",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model").mkdir(exist_ok=True)
    (out_dir / "data").mkdir(exist_ok=True)
    return out_dir


def build_demo(out_dir: Path | str, measure: bool = True, force: bool = False) -> Session:
    """Create the demo project in `out_dir`, profile it and measure the baseline.

    A folder that already holds a project is refused unless `force` (re-creating it would wipe its runs)."""
    from shrinkwise.compression.demo.train_digits import split_indices

    out_dir = prepare_demo_folder(out_dir, force)
    shutil.copyfile(demo_file(ARCHITECTURE_FILE), out_dir / "model" / ARCHITECTURE_FILE)
    shutil.copyfile(demo_file("digits_cnn.pt"), out_dir / "model" / "digits_cnn.pt")
    raw = np.load(demo_file("digits.npz"), allow_pickle=False)
    train, held_out = split_indices(len(raw["y"]))
    for name, idx in (("digits_train.npz", train), ("digits_eval.npz", held_out)):
        np.savez_compressed(
            out_dir / "data" / name, x=_model_input(raw["images"][idx]), y=raw["y"][idx], groups=raw["groups"][idx]
        )

    project_path = out_dir / f"{DEMO_NAME}.shrinkwise.json"
    session = Session.create(project_path, name="Digits demo", overwrite=True)
    session.project.notes = (
        "A 90k-parameter CNN for 8x8 handwritten digits (scikit-learn's digits), with held-out evaluation data. "
        "Subgroups are ink levels (light / medium / heavy)."
    )
    session.attach_model(
        out_dir / "model" / "digits_cnn.pt",
        architecture=f"model/{ARCHITECTURE_FILE}:{ARCHITECTURE_CLASS}",
        input_specs=[TensorSpec(name="x", shape=["batch", 1, 8, 8], dtype="float32")],
        trusted=True,  # the demo's architecture is Shrinkwise's own shipped file
    )
    session.add_data(out_dir / "data" / "digits_train.npz", role="training")
    session.add_data(out_dir / "data" / "digits_eval.npz", role="evaluation")
    session.profile()
    if measure:
        session.measure_baseline()
    return session
