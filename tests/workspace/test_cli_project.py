"""The CLI end to end on the demo project, and every bad input: exit 2, one line, no traceback, nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.workspace.cli import main

ROOT = Path(__file__).parents[2]


def shrinkwise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shrinkwise.workspace.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_demo_then_profile_json(tmp_path: Path) -> None:
    out = shrinkwise("demo", "--out", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "accuracy" in out.stdout
    prof = shrinkwise("profile", str(tmp_path / "d"), "--json")
    assert prof.returncode == 0, prof.stderr
    data = json.loads(prof.stdout)
    assert data["parameters"] == 89930 and data["total_macs"] > 400_000
    convs = [l for l in data["layers"] if l["op_type"] == "Conv"]
    assert len(convs) == 3 and all(l["macs"] > 0 and l["parameters"] > 0 and l["time_us"] is not None for l in convs)


def test_demo_baseline_is_real(demo_project: Path) -> None:
    from shrinkwise.workspace.project import load_project

    base = load_project(demo_project).baseline
    assert base is not None
    acc = base.measurement("accuracy")
    assert acc is not None and 0.97 <= acc.value <= 1.0 and base.quality.samples == 540
    assert set(base.quality.per_subgroup_accuracy) == {"light_ink", "medium_ink", "heavy_ink"}
    lat = base.measurement("latency_ms_median")
    assert lat is not None and lat.source == "host" and lat.details["runs"] >= 40


def _assert_one_line_error(capsys: pytest.CaptureFixture[str], code: int, needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("shrinkwise: error:") and "\n" not in err and "Traceback" not in err
    assert needle in err, err


def test_bad_model_files(demo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = demo_project.read_bytes()
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    _assert_one_line_error(capsys, main(["model", str(demo_project), str(bad)]), "broken.onnx")
    wrong = tmp_path / "photo.jpg"
    wrong.write_bytes(b"\xff\xd8\xff")
    _assert_one_line_error(capsys, main(["model", str(demo_project), str(wrong)]), "not a model file")
    assert demo_project.read_bytes() == before


def test_bad_data_files(demo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = demo_project.read_bytes()
    np.savez(tmp_path / "shape.npz", x=np.zeros((4, 3, 32, 32), np.float32))
    _assert_one_line_error(capsys, main(["data", str(demo_project), str(tmp_path / "shape.npz")]), "expects")
    x = np.zeros((4, 1, 8, 8), np.float32)
    x[1, 0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=x)
    _assert_one_line_error(capsys, main(["data", str(demo_project), str(tmp_path / "nan.npz")]), "NaN")
    assert demo_project.read_bytes() == before


def test_corrupt_and_newer_project_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.shrinkwise.json"
    path.write_text('{"schema_version": 1, "name": 5}')
    _assert_one_line_error(capsys, main(["profile", str(path)]), "field 'name'")
    path.write_text('{"schema_version": 7, "name": "p"}')
    _assert_one_line_error(capsys, main(["show", str(path)]), "newer Shrinkwise")
    assert path.read_text() == '{"schema_version": 7, "name": "p"}'
    _assert_one_line_error(capsys, main(["show", str(tmp_path / "missing")]), "no such project file")


def test_new_project_with_onnx_and_image_less_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import export_onnx, tiny_cnn

    model = export_onnx(tiny_cnn(), tmp_path / "m.onnx")
    np.savez(
        tmp_path / "d.npz", x=np.random.default_rng(0).random((30, 1, 8, 8), dtype=np.float32), y=np.arange(30) % 10
    )
    assert main(["new", str(tmp_path / "mine"), "--model", str(model), "--data", str(tmp_path / "d.npz")]) == 0
    assert main(["measure", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert "latency_ms_median" in out and "[host]" in out
    assert main(["new", str(tmp_path / "mine")]) == 2  # refuses to overwrite
