"""Data intake: npz and image folders, bad data refused in one line, health warnings that matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.data import generated_inputs, health, load_data, load_npz, split
from shrinkwise.compression.errors import DataError
from shrinkwise.compression.signature import InputSignature, TensorSpec

SIG = InputSignature(inputs=[TensorSpec(name="x", shape=["batch", 1, 8, 8], dtype="float32")])


def test_npz_with_labels_and_groups(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((50, 1, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(50) % 5, groups=np.array(["a", "b"] * 25))
    ds = load_npz(tmp_path / "d.npz", SIG)
    assert len(ds) == 50 and ds.labels is not None and ds.groups is not None
    calib, evaluation, training = split(ds, calibration_count=10, evaluation_fraction=0.3, seed=1)
    assert len(evaluation) == 15 and len(calib) == 10 and len(training) == 35
    # the split is seeded and calibration never overlaps evaluation
    calib2, eval2, _ = split(ds, 10, 0.3, seed=1)
    np.testing.assert_array_equal(eval2.inputs["x"], evaluation.inputs["x"])
    eval_rows = {r.tobytes() for r in evaluation.inputs["x"]}
    assert not any(r.tobytes() in eval_rows for r in calib.inputs["x"])


def test_multi_input_npz_uses_input_names(tmp_path: Path) -> None:
    sig = InputSignature(
        inputs=[
            TensorSpec(name="input_ids", shape=["b", "s"], dtype="int64"),
            TensorSpec(name="attention_mask", shape=["b", "s"], dtype="int64"),
        ]
    )
    np.savez(tmp_path / "t.npz", input_ids=np.ones((4, 7), np.int64), attention_mask=np.ones((4, 7), np.int64))
    assert set(load_npz(tmp_path / "t.npz", sig).inputs) == {"input_ids", "attention_mask"}
    np.savez(tmp_path / "t2.npz", input_ids=np.ones((4, 7), np.int64))
    with pytest.raises(DataError, match="attention_mask"):
        load_npz(tmp_path / "t2.npz", sig)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x": np.zeros((5, 3, 8, 8), np.float32)}, "expects"),
        ({"x": np.full((5, 1, 8, 8), np.nan, np.float32)}, "NaN or Inf"),
        ({"x": np.zeros((5, 1, 8, 8), np.float32), "y": np.zeros(4, np.int64)}, "different sample counts"),
        ({"z": np.zeros((5, 1, 8, 8), np.float32)}, "no array for model input"),
    ],
)
def test_bad_data_is_refused_with_one_line(tmp_path: Path, arrays: dict, match: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match) as info:
        load_npz(tmp_path / "bad.npz", SIG)
    assert "bad.npz" in str(info.value) and "\n" not in str(info.value)


def test_pickled_arrays_are_not_loaded(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="Python objects"):
        load_npz(tmp_path / "obj.npz", SIG)


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    ds = load_data(tmp_path / "imgs", SIG)
    assert ds.inputs["x"].shape == (6, 1, 8, 8) and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert 0.0 <= ds.inputs["x"].min() and ds.inputs["x"].max() <= 1.0


def test_health_warns_about_classic_causes_of_bad_int8(tmp_path: Path) -> None:
    x = np.zeros((40, 1, 8, 8), np.float32)
    x[:20] = 1.0  # 20 duplicates of two distinct images
    y = np.array([0] * 36 + [1] * 4)
    np.savez(tmp_path / "skew.npz", x=x, y=y)
    h = health(load_npz(tmp_path / "skew.npz", SIG), calibration_count=12)
    codes = {w.code for w in h.warnings}
    assert {"duplicates", "class_imbalance", "rare_class", "tiny_calibration"} <= codes
    assert h.duplicates == 38 and h.class_counts == {"0": 36, "1": 4}


def test_generated_inputs_are_labelled_as_such() -> None:
    ds = generated_inputs(SIG, 8)
    assert ds.generated and ds.inputs["x"].shape == (8, 1, 8, 8)
    assert any(w.code == "generated" for w in health(ds).warnings)
