"""Build the speech demo project: a keyword spotter (conv + GRU on log-mel frames) for a wake word on a
microcontroller, with clips made by the committed generator (synthetic, see `compression/demo/make_keywords.py`).

The data comes in the two audio layouts the engine reads, so the demo shows both: `data/training/` is a folder of
16-bit PCM .wav clips in class sub-folders (training and calibration, with a `features.toml` that spells out the
front-end), and `data/keywords_eval.npz` holds the held-out waveforms (another seed than training, never trained on).
The goal is a wake word in a microcontroller's flash: the Cortex-M target, a 150 kB model, 100 ms per 1 s window (a
detector that listens continuously checks a few windows a second) and at most one point of accuracy lost.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from shrinkwise.compression.demo import demo_file
from shrinkwise.compression.signature import TensorSpec
from shrinkwise.workspace.demo import prepare_demo_folder
from shrinkwise.workspace.session import Session

SPEECH_DEMO_NAME = "speech-demo"
SPEECH_ARCHITECTURE = "keyword_spotter.py:KeywordSpotter"
SPEECH_TARGET = "cortex-m-mcu"
SPEECH_BUDGET = {"size_mb": 0.15, "latency_ms": 100.0, "accuracy_drop_pts": 1.0}
FEATURES_TOML = """# How the clips become model input (read by Shrinkwise's audio intake; these are the defaults, spelled out).
sample_rate = 16000      # Hz; clips at another rate are refused, not resampled
feature = "log_mel"      # or "mfcc"
frame_length_ms = 25.0
frame_shift_ms = 10.0
layout = "frames_bins"   # the model reads N x 1 x frames x bins
"""


def build_speech_demo(out_dir: Path | str, measure: bool = True, force: bool = False) -> Session:
    """Create the speech demo project in `out_dir`, profile it and measure the baseline (a few seconds)."""
    from shrinkwise.compression.demo import make_keywords as kw
    from shrinkwise.compression.demo import train_keywords as tk

    out_dir = prepare_demo_folder(out_dir, force)
    arch_file, arch_class = SPEECH_ARCHITECTURE.split(":")
    shutil.copyfile(demo_file(arch_file), out_dir / "model" / arch_file)
    shutil.copyfile(demo_file(tk.WEIGHTS), out_dir / "model" / tk.WEIGHTS)
    training = out_dir / "data" / "training"
    if training.exists():  # --force: clips from an earlier build would be counted twice
        shutil.rmtree(training)
    kw.write_wav_folder(kw.make_clips(tk.CALIBRATION_PER_CLASS, tk.CALIBRATION_SEED), training)
    (training / "features.toml").write_text(FEATURES_TOML, encoding="utf-8")
    held_out = kw.make_clips(tk.EVAL_PER_CLASS, tk.EVAL_SEED)
    np.savez_compressed(
        out_dir / "data" / "keywords_eval.npz",
        waveform=held_out.waveform,
        sample_rate=np.int64(kw.SAMPLE_RATE),
        y=held_out.y,
        groups=held_out.groups,
    )

    session = Session.create(out_dir / f"{SPEECH_DEMO_NAME}.shrinkwise.json", name="Speech demo", overwrite=True)
    session.project.notes = (
        f"A keyword spotter ({len(kw.CLASSES)} classes; conv + GRU on 98 x 40 log-mel frames, 1 s at 16 kHz) for a "
        "wake word on a microcontroller. The clips are synthetic (speech-like patterns with noise, made by Shrinkwise's "
        "generator), not recordings. Classes: " + ", ".join(kw.CLASSES) + ". Subgroups are noise levels."
    )
    session.attach_model(
        out_dir / "model" / tk.WEIGHTS,
        architecture=f"model/{arch_file}:{arch_class}",
        input_specs=[TensorSpec(name="logmel", shape=["batch", 1, tk.FRAMES, tk.MEL_BANDS], dtype="float32")],
        trusted=True,  # the demo's architecture is Shrinkwise's own shipped file
    )
    session.add_data(training, role="training")
    session.add_data(out_dir / "data" / "keywords_eval.npz", role="evaluation")
    session.set_target(SPEECH_TARGET)
    session.set_budget(**SPEECH_BUDGET)
    session.save()
    session.profile()
    if measure:
        session.measure_baseline()
    return session
