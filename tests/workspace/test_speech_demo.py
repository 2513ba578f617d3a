"""The speech demo: its shipped files reproduce, and it runs end to end from the CLI (demo --speech -> profile ->
advise -> fp16 -> int8_dynamic -> int8_static -> sensitivity -> report), its quality checked against torch."""

from __future__ import annotations

import hashlib
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project


def test_generator_features_and_weights_reproduce_the_shipped_check() -> None:
    """The committed clips and scores (made by train_keywords.py) come out again from the generator, the engine's
    features and the shipped weights: the demo's numbers cannot drift silently."""
    import torch

    from shrinkwise.compression.demo import demo_file
    from shrinkwise.compression.demo import train_keywords as tk
    from shrinkwise.compression.demo.keyword_spotter import KeywordSpotter
    from shrinkwise.compression.demo.make_keywords import make_clips

    check = np.load(demo_file(tk.CHECK))
    clips = make_clips(tk.EVAL_PER_CLASS, tk.EVAL_SEED)
    again = clips.waveform[check["index"]]
    assert np.abs(again.astype(np.int32) - check["waveform"]).max() <= 1  # one LSB: float rounding only
    assert (clips.y[check["index"]] == check["y"]).all() and sorted(check["y"].tolist()) == list(range(8))
    model = KeywordSpotter()
    model.load_state_dict(torch.load(demo_file(tk.WEIGHTS), weights_only=True))
    model.eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(tk.model_input(check["waveform"]))).numpy()
    np.testing.assert_allclose(scores, check["scores"], atol=1e-4)
    assert (scores.argmax(1) == check["y"]).all()


def _reference_accuracy(folder: Path) -> float:
    """The shipped weights in torch on the engine's features of the held-out clips (not through ONNX Runtime)."""
    import torch

    from shrinkwise.compression.data import load_data
    from shrinkwise.compression.demo.keyword_spotter import KeywordSpotter
    from shrinkwise.compression.signature import InputSignature, TensorSpec

    signature = InputSignature(
        inputs=[TensorSpec(name="logmel", shape=["batch", 1, 98, 40], dtype="float32")],
        outputs=[TensorSpec(name="scores", shape=["batch", 8], dtype="float32")],
    )
    data = load_data(folder / "data" / "keywords_eval.npz", signature)
    model = KeywordSpotter()
    model.load_state_dict(torch.load(folder / "model" / "keyword_spotter.pt", weights_only=True))
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.inputs["logmel"])).argmax(1).numpy()
    assert data.labels is not None
    return float((predicted == data.labels).mean())


def _clip_hashes(folder: Path) -> set[str]:
    hashes = set()
    for path in sorted((folder / "data" / "training").rglob("*.wav")):
        with wave.open(str(path), "rb") as w:
            hashes.add(hashlib.sha256(w.readframes(w.getnframes())).hexdigest())
    return hashes


@pytest.mark.slow
def test_speech_demo_end_to_end_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "speech"
    assert main(["demo", "--speech", "--out", str(out)]) == 0
    assert "on 320 held-out clips" in capsys.readouterr().out
    project = load_project(out / "speech-demo.shrinkwise.json")
    assert {(d.kind, d.role, d.samples) for d in project.data} == {
        ("audio_folder", "training", 192),
        ("audio_npz", "evaluation", 320),
    }
    assert project.target.id == "cortex-m-mcu" and project.budget.size_mb == 0.15
    held_out = np.load(out / "data" / "keywords_eval.npz")["waveform"]
    assert not {hashlib.sha256(c.tobytes()).hexdigest() for c in held_out} & _clip_hashes(out)  # never trained on

    base = project.baseline
    assert base is not None
    accuracy = base.measurement("accuracy")
    assert accuracy is not None
    reference = _reference_accuracy(out)
    assert reference >= 0.9 and abs(accuracy.value - reference) < 1e-9

    assert main(["profile", str(out), "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    gru = [l for l in layers if l["op_type"] == "GRU"]
    assert len(gru) == 1 and gru[0]["parameters"] == 3 * (64 * 48 + 48 * 48 + 2 * 48)
    assert gru[0]["macs"] == 49 * 3 * 48 * (64 + 48)  # frames x gates x hidden x (input + hidden)

    assert main(["advise", str(out), "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert "int8_static" in [step.get("technique") for step in advice["plan"]]

    for technique in ("fp16", "int8_dynamic", "int8_static"):
        assert main(["run", str(out), technique]) == 0, technique
    capsys.readouterr()
    runs = {e.label: e for e in load_project(out / "speech-demo.shrinkwise.json").experiments if e.kind == "run"}
    assert set(runs) == {"fp16", "int8_dynamic", "int8_static"}
    base_size = base.measurement("size_bytes")
    assert base_size is not None
    for label, run in runs.items():
        acc, size = run.measurement("accuracy"), run.measurement("size_bytes")
        assert run.status == "finished" and acc is not None and size is not None, label
        assert abs(acc.value - accuracy.value) <= 0.01, label  # within the 1-point budget
        assert size.value < 0.7 * base_size.value, label
    for label in ("int8_dynamic", "int8_static"):  # ONNX Runtime has no int8 GRU kernel: the engine says so
        notes = " ".join(n for a in runs[label].artifacts for n in a.notes)
        assert "GRU" in notes and "float32" in notes, label

    assert main(["sensitivity", str(out)]) == 0
    assert "proposal" in capsys.readouterr().out
    assert main(["report", str(out), "--out", str(tmp_path / "report.md")]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Speech demo" in report and "int8_static" in report and "synthetic" in report
