"""A refused data or model file is named as the user gave it, never as the project's copy
(`…artifacts/inputs/<hash>/…`), while what is read is still the copy inside the project (the containment rule)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.errors import DataError, ModelLoadError
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.session import Session


def _outside(tmp_path: Path) -> Path:
    out = tmp_path / "my files"
    out.mkdir()
    return out


def test_a_wrong_shape_npz_is_named_as_given_on_the_cli(
    demo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _outside(tmp_path) / "readings.npz"
    np.savez(bad, x=np.zeros((4, 3), np.float32))
    assert main(["data", str(demo_project), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"shrinkwise: error: {bad}: array 'x' has shape [4, 3]"), err
    assert "artifacts" not in err and "\n" not in err
    assert main(["--json", "data", str(demo_project), str(bad)]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["file"] == str(bad) and "reshape" in payload["fix"]


def test_a_bad_image_in_a_folder_is_named_inside_the_users_folder(
    demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _outside(tmp_path) / "digits"
    (folder / "3").mkdir(parents=True)
    (folder / "3" / "broken.png").write_text("not an image")
    monkeypatch.chdir(tmp_path)  # a relative path, as typed at a prompt, comes back as typed
    session = Session.open(demo_project)
    with pytest.raises(DataError) as info:
        session.add_data(Path("my files") / "digits")
    assert info.value.path == os.path.join("my files", "digits", "3", "broken.png")
    assert "artifacts" not in str(info.value)
    # The containment guarantee holds: the project still names only files inside its folder.
    assert all(not Path(d.path).is_absolute() and ".." not in Path(d.path).parts for d in session.project.data)


def test_a_good_outside_file_is_still_read_from_the_projects_copy(demo_project: Path, tmp_path: Path) -> None:
    session = Session.open(demo_project)
    own = session.resolve(session.project.data[0].path)
    theirs = _outside(tmp_path) / own.name
    theirs.write_bytes(own.read_bytes())
    ref = session.add_data(theirs)
    copy = session.resolve(ref.path)
    assert copy != theirs.resolve() and copy.is_relative_to(session.folder.resolve())
    assert copy.read_bytes() == theirs.read_bytes()


def test_a_corrupt_model_is_named_as_given(demo_project: Path, tmp_path: Path) -> None:
    junk = _outside(tmp_path) / "net.onnx"
    junk.write_bytes(b"\x00junk")
    with pytest.raises(ModelLoadError) as info:
        Session.open(demo_project).attach_model(junk)
    assert info.value.path == str(junk) and "artifacts" not in str(info.value)
