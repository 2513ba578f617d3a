"""A project file is inert and values that would break it are refused in one line (never a traceback)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project


def _edited(demo_project: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    raw = json.loads(demo_project.read_text())
    edit(raw)
    demo_project.write_text(json.dumps(raw))
    return demo_project


def _refused(path: Path, words: str) -> str:
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    text = str(info.value)
    assert "\n" not in text and words in text, text
    return text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"schema_version": 1, "name": "x", "notes": NaN}', "NaN"),
        ('{"schema_version": 1, "name": "x", "notes": ' + "9" * 5000 + "}", "cannot read"),
        ('{"schema_version": 1, "name": "\\ud800"}', "lone surrogate"),
        ('{"schema_version": 1, "name": "x", "answers": {"a": ' + "[" * 100 + "]" * 100 + "}}", "nested more"),
        ('{"schema_version": 1, "name": "x", "answers": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_values_that_break_the_file_are_one_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "p.shrinkwise.json"
    path.write_text(text)
    _refused(path, words)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "f.shrinkwise.json"
    os.mkfifo(fifo)
    _refused(fifo, "not a regular file")  # would block forever if opened
    link = tmp_path / "z.shrinkwise.json"
    link.symlink_to("/dev/zero")
    _refused(link, "not a regular file")  # would read until memory runs out


def test_paths_ids_and_hashes_are_contained(demo_project: Path) -> None:
    original = demo_project.read_text()
    cases = [
        (lambda r: r["model"].update(path="../../etc/passwd"), "outside the project folder"),
        (lambda r: r["model"].update(onnx_path="/etc/passwd"), "outside the project folder"),
        (lambda r: r["model"].update(architecture="/tmp/evil.py:Net"), "outside the project folder"),
        (lambda r: r["data"][0].update(path="../elsewhere.npz"), "outside the project folder"),
        (lambda r: r["experiments"][0]["artifacts"][0].update(path="../../x.onnx"), "outside the project folder"),
        (lambda r: r["experiments"][0]["artifacts"][0].update(sha256="../../a"), "not a sha256"),
        (lambda r: r["model"].update(sha256="ABC"), "not a sha256"),
        (lambda r: r["experiments"][0].update(id="../../a"), "not a safe name"),
        (lambda r: r.update(chosen="../x"), "not a safe experiment id"),
        (lambda r: r["experiments"].append(dict(r["experiments"][0])), "appears twice"),
    ]
    for edit, words in cases:
        demo_project.write_text(original)
        _refused(_edited(demo_project, edit), words)
    demo_project.write_text(original)
    load_project(demo_project)


def test_import_results_refuses_nan(demo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"
    results.write_text('{"bundle": {"candidate_id": "original"}, "latency_ms": {"median": NaN}}')
    before = demo_project.read_bytes()
    assert main(["import-results", str(demo_project), str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert "NaN" in err and len(err.splitlines()) == 1
    assert demo_project.read_bytes() == before


def test_measurements_refuse_non_finite_values() -> None:
    from pydantic import ValidationError

    from shrinkwise.compression.measure.records import Measurement

    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValidationError):
            Measurement(metric="latency_ms_median", value=bad)


def test_demo_refuses_a_folder_with_a_project(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = demo_project.parent
    (folder / "mine.txt").write_text("keep")
    before = demo_project.read_bytes()
    assert main(["demo", "--out", str(folder), "--no-measure"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--force" in err and len(err.splitlines()) == 1
    assert demo_project.read_bytes() == before
    assert main(["demo", "--out", str(folder), "--no-measure", "--force"]) == 0
    assert load_project(demo_project).baseline is None  # re-created, as asked


def test_a_failed_new_leaves_nothing_so_the_retry_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_model = tmp_path / "broken.onnx"
    bad_model.write_bytes(b"not an onnx file")
    project = tmp_path / "work" / "mine"
    project.parent.mkdir()
    assert main(["new", str(project), "--model", str(bad_model)]) == 2
    assert list(project.parent.iterdir()) == []  # no project file, .bak, lock or artifacts folder left
    assert main(["new", str(project)]) == 0
    assert "created" in capsys.readouterr().out


def test_files_from_outside_are_copied_in_so_the_project_stays_contained(tmp_path: Path) -> None:
    import numpy as np

    from tests.helpers import export_onnx, tiny_cnn

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    model = export_onnx(tiny_cnn(), elsewhere / "m.onnx")
    for sub in ("a", "b"):  # two outside files with one name must not overwrite each other
        (elsewhere / sub).mkdir()
        rng = np.random.default_rng(ord(sub))
        np.savez(elsewhere / sub / "d.npz", x=rng.random((40, 1, 8, 8), dtype=np.float32), y=np.arange(40) % 10)
    project = tmp_path / "work" / "p"
    project.parent.mkdir()
    assert main(["new", str(project), "--model", str(model)]) == 0
    assert main(["data", str(project), str(elsewhere / "a" / "d.npz"), "--role", "calibration"]) == 0
    assert main(["data", str(project), str(elsewhere / "b" / "d.npz"), "--role", "evaluation"]) == 0
    p = load_project(project)  # loads: every path it names is inside its folder
    assert p.model is not None and not p.model.path.startswith("..")
    assert len({d.path for d in p.data}) == 2 and all(not d.path.startswith("..") for d in p.data)
    assert len({d.sha256 for d in p.data}) == 2


def test_data_limits_and_labels_are_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import zipfile

    import numpy as np

    from shrinkwise.compression import data
    from shrinkwise.compression.errors import DataError
    from shrinkwise.compression.signature import InputSignature, TensorSpec

    sig = InputSignature(
        inputs=[TensorSpec(name="x", shape=["batch", 1, 8, 8], dtype="float32")],
        outputs=[TensorSpec(name="y", shape=["batch", 10], dtype="float32")],
    )
    monkeypatch.setattr(data, "MAX_DATA_BYTES", 2**20)
    bomb = tmp_path / "bomb.npz"  # 8 MiB of zeros in a few KiB
    np.savez_compressed(bomb, x=np.zeros((2**15, 1, 8, 8), np.float32))
    with pytest.raises(DataError, match="over the limit"):
        data.load_npz(bomb, sig)
    liar = tmp_path / "liar.npz"
    with zipfile.ZipFile(liar, "w") as z:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 1, 8, 8)})
        z.writestr("x.npy", buf.getvalue() + bytes(64))
    with pytest.raises(DataError, match="claims shape"):
        data.load_npz(liar, sig)
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.zeros((4, 1, 8, 8), np.float32), y=np.array([0, 1, 2, 1000]))
    with pytest.raises(DataError, match="10 classes"):
        data.load_npz(labels, sig)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        data.load_npz(fifo, sig)
    huge = InputSignature(inputs=[TensorSpec(name="x", shape=[1, 1, 100_000, 100_000], dtype="float32")])
    with pytest.raises(DataError, match="over the"):
        data.generated_inputs(huge, 4)


def test_external_data_names_cannot_copy_files_from_outside(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from shrinkwise.compression.errors import ShrinkwiseError
    from shrinkwise.workspace.export import _external_data

    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        [weight],
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    onnx.load(str(path), load_external_data=False)
    with pytest.raises(ShrinkwiseError, match="outside the model's folder"):
        _external_data(path)


def test_declared_input_sizes_that_could_never_fit_are_refused_at_intake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx
    from onnx import TensorProto, helper

    from tests.helpers import export_onnx, tiny_cnn

    model = export_onnx(tiny_cnn(), tmp_path / "m.onnx")
    work = tmp_path / "work"
    work.mkdir()
    project = work / "P"
    # --input-shape: refused before the model is read or exported (a torch export would allocate it).
    assert main(["new", str(project), "--model", str(model), "--input-shape", "x:1,1,100000,100000"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("shrinkwise: error:"), err
    assert "input 'x'" in err and "37.3 GiB" in err and "--input-shape" in err, err
    assert list(work.iterdir()) == []  # `new` is atomic: no project file, .bak, lock or artifacts folder
    assert main(["new", str(project), "--model", str(model)]) == 0  # the corrected retry just works
    capsys.readouterr()
    before = project.with_name("P.shrinkwise.json").read_text()
    assert main(["model", str(project), str(model), "--input-shape", "x:1,1,100000,100000"]) == 2
    assert "input 'x'" in capsys.readouterr().err
    assert project.with_name("P.shrinkwise.json").read_text() == before  # the model it had is kept
    # A model whose own fixed input shape could never fit: refused at intake, not when profiling allocates it.
    graph = helper.make_graph(
        [helper.make_node("Identity", ["big"], ["y"])],
        "g",
        [helper.make_tensor_value_info("big", TensorProto.FLOAT, [1, 1, 100_000, 100_000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 100_000, 100_000])],
    )
    huge = tmp_path / "huge.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), huge)
    assert main(["new", str(work / "Q"), "--model", str(huge)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "input 'big'" in err and "--input-shape" in err, err
    assert sorted(p.name for p in work.iterdir()) == sorted(p.name for p in project.parent.iterdir())
    assert not any(p.name.startswith("Q") for p in work.iterdir())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 1, "name": "x", "notes": NaN}', "NaN"),
        ('{"schema_version": 1, "name": "x", "answers": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"schema_version": 1, "name": "x", "experiments": [{"id": "../../a"}]}', "id"),
        ('{"schema_version": 999, "name": "x"}', "newer"),
    ],
)
@pytest.mark.parametrize("command", ["show", "report", "run"])
def test_a_broken_project_file_is_one_line_and_exit_2_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str, command: str
) -> None:
    path = tmp_path / "p.shrinkwise.json"
    path.write_text(text)
    args = {
        "show": ["show", str(path)],
        "report": ["report", str(path), "--out", str(tmp_path / "r.html")],
        "run": ["run", str(path), "fp16"],
    }
    assert main(args[command]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and err.startswith("shrinkwise: error:") and "Traceback" not in err, err
    assert str(path) in err and words in err, err
    assert path.read_text() == text and not (tmp_path / "r.html").exists()  # refused, never "repaired"
