"""A state dict's architecture file is Python code: it runs only after the user confirmed that very file.

The architecture file used here appends a line to a marker file each time it is imported, so every test can count
whether (and how often) the code ran, not just whether a command succeeded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.compression.intake import ArchitectureTrustError, TorchModelSpec, torch_model_factory
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.session import Session

torch = pytest.importorskip("torch")

ARCH = """
from pathlib import Path

import torch

with open({marker!r}, "a") as fh:
    fh.write("ran\\n")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)
"""


def _runs(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


@pytest.fixture
def model_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(weights, architecture file, marker) outside any project folder."""
    src = tmp_path / "src"
    src.mkdir()
    marker = tmp_path / "ran.txt"
    arch = src / "net.py"
    arch.write_text(ARCH.format(marker=str(marker)))
    torch.manual_seed(0)
    weights = src / "w.pth"
    torch.save({"fc.weight": torch.randn(3, 4), "fc.bias": torch.randn(3)}, weights)
    return weights, arch, marker


def _one_line(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _new(project: Path, weights: Path, arch: Path, *extra: str) -> int:
    return main(
        [
            "new",
            str(project),
            "--model",
            str(weights),
            "--architecture",
            f"{arch}:Net",
            "--input-shape",
            "x:1,4",
            *extra,
        ]
    )


def test_without_the_flag_nothing_runs_and_nothing_is_left(
    tmp_path: Path, model_files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights, arch, marker = model_files
    project = tmp_path / "p" / "p.shrinkwise.json"
    project.parent.mkdir()
    _one_line(capsys, _new(project, weights, arch), "net.py", "--trust-architecture", "Python code")
    assert _runs(marker) == 0
    assert list(project.parent.iterdir()) == []  # not even the copy of the architecture file
    # `model` on an existing project refuses the same way.
    assert main(["new", str(project)]) == 0
    capsys.readouterr()
    before = project.read_bytes()
    code = main(["model", str(project), str(weights), "--architecture", f"{arch}:Net", "--input-shape", "x:1,4"])
    _one_line(capsys, code, "net.py", "--trust-architecture")
    assert _runs(marker) == 0 and project.read_bytes() == before


def test_the_flag_copies_the_file_in_records_its_hash_and_is_asked_once(
    tmp_path: Path, model_files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights, arch, marker = model_files
    project = tmp_path / "p" / "p.shrinkwise.json"
    project.parent.mkdir()
    assert _new(project, weights, arch, "--trust-architecture") == 0, capsys.readouterr().err
    assert _runs(marker) == 1  # ran once, to export the model to ONNX
    model = load_project(project).model
    assert model is not None and model.architecture is not None
    copied = (project.parent / model.architecture.rpartition(":")[0]).resolve()
    assert copied.is_relative_to(project.parent.resolve()) and copied != arch.resolve()
    digest = hashlib.sha256(copied.read_bytes()).hexdigest()
    assert model.architecture_sha256 == digest == hashlib.sha256(arch.read_bytes()).hexdigest()
    # The same file again: already confirmed, no flag needed.
    code = main(["model", str(project), str(weights), "--architecture", f"{arch}:Net", "--input-shape", "x:1,4"])
    assert code == 0, capsys.readouterr().err
    assert _runs(marker) == 2
    # A changed file is a new question.
    arch.write_text(arch.read_text() + "\n# edited\n")
    code = main(["model", str(project), str(weights), "--architecture", f"{arch}:Net", "--input-shape", "x:1,4"])
    _one_line(capsys, code, "net.py", "--trust-architecture")
    assert _runs(marker) == 2


def test_a_changed_or_unconfirmed_copy_is_refused_before_a_run_and_in_the_worker(
    tmp_path: Path, model_files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights, arch, marker = model_files
    project = tmp_path / "p" / "p.shrinkwise.json"
    project.parent.mkdir()
    assert _new(project, weights, arch, "--trust-architecture") == 0
    session = Session.open(project)
    spec = session.torch_spec()
    assert spec is not None and spec.trusted_sha256 == session.project.model.architecture_sha256  # type: ignore[union-attr]
    torch_model_factory(spec, session.folder)  # confirmed: builds (and runs the file)
    assert _runs(marker) == 2

    copied = session.resolve(session.project.model.architecture.rpartition(":")[0])  # type: ignore[union-attr]
    copied.write_text(copied.read_text() + "\nimport os  # someone edited the project's copy\n")
    # The parent refuses before a worker starts, naming the file and the command that confirms it again...
    capsys.readouterr()
    code = main(["run", str(project), "prune_structured"])
    err = _one_line(capsys, code, copied.name, "changed since it was confirmed", "--trust-architecture")
    assert "shrinkwise model" in err and "--input-shape x:1,4" in err
    # ...and the worker's own check (the one right before the code runs) refuses the same file.
    with pytest.raises(ArchitectureTrustError, match="changed since it was confirmed"):
        torch_model_factory(session.torch_spec(), session.folder)  # type: ignore[arg-type]
    assert _runs(marker) == 2
    failed = [e for e in load_project(project).experiments if e.kind == "run"]
    assert failed and failed[-1].status == "failed" and "changed since" in (failed[-1].error or "")

    # A project that never recorded a confirmation (made before this existed, or edited by hand) runs nothing.
    raw = json.loads(project.read_text())
    raw["model"]["architecture_sha256"] = None
    project.write_text(json.dumps(raw))
    spec = Session.open(project).torch_spec()
    with pytest.raises(ArchitectureTrustError, match="nobody confirmed it"):
        torch_model_factory(spec, project.parent)  # type: ignore[arg-type]
    assert _runs(marker) == 2


def test_a_file_changed_after_the_question_is_refused(tmp_path: Path, model_files: tuple[Path, Path, Path]) -> None:
    """The window passes the sha256 it showed: a file edited between the question and the intake does not run."""
    weights, arch, marker = model_files
    session = Session.create(tmp_path / "q.shrinkwise.json")
    asked = session.architecture_to_confirm(f"{arch}:Net")
    assert asked is not None and asked[0] == arch.resolve()
    arch.write_text(arch.read_text() + "\n# swapped after the question\n")
    from shrinkwise.compression.intake import parse_input_shape

    with pytest.raises(ShrinkwiseError, match="changed after you confirmed it"):
        session.attach_model(weights, f"{arch}:Net", input_specs=[parse_input_shape("x:1,4")], trusted=asked[1])
    assert _runs(marker) == 0 and session.project.model is None


def test_a_library_caller_naming_the_file_itself_vouches_for_it(model_files: tuple[Path, Path, Path]) -> None:
    """Outside a project (scripts, the engine's own tests) the caller named the file, so no hash is asked for."""
    weights, arch, marker = model_files
    build = torch_model_factory(TorchModelSpec(format="state_dict", path=weights, architecture=f"{arch}:Net"))
    assert build()(torch.zeros(1, 4)).shape == (1, 3) and _runs(marker) == 1


def test_the_worker_passes_the_confirmed_hash_to_the_check(model_files: tuple[Path, Path, Path]) -> None:
    """The job carries the hash across the process boundary; the worker's lazy factory refuses any other file."""
    from shrinkwise.compression.jobs import TorchSpecData
    from shrinkwise.compression.worker import _torch_factory

    weights, arch, marker = model_files

    def job(trusted: str) -> object:
        spec = TorchSpecData(format="state_dict", path=str(weights), architecture=f"{arch}:Net", trusted_sha256=trusted)
        return type("JobLike", (), {"torch": spec})()

    with pytest.raises(ArchitectureTrustError, match="changed since it was confirmed"):
        _torch_factory(job("0" * 64))()  # type: ignore[arg-type, misc]
    assert _runs(marker) == 0
    good = hashlib.sha256(arch.read_bytes()).hexdigest()
    assert _torch_factory(job(good))()(torch.zeros(1, 4)).shape == (1, 3)  # type: ignore[arg-type, misc]
    assert _runs(marker) == 1


def test_a_confirmed_edit_of_a_package_architecture_runs_the_new_code_in_the_same_process(tmp_path: Path) -> None:
    """A package is imported once per process (the window's): after the file changes and is confirmed again, the
    new code must run, never the cached module under the new hash."""
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    net = pkg / "net.py"
    weights = tmp_path / "w.pth"
    torch.save({"fc.weight": torch.randn(3, 4), "fc.bias": torch.randn(3)}, weights)

    def build(scale: float) -> object:
        net.write_text(
            ARCH.format(marker=str(tmp_path / "ran.txt")).replace("return self.fc(x)", f"return self.fc(x) * {scale}")
        )
        digest = hashlib.sha256(net.read_bytes()).hexdigest()
        spec = TorchModelSpec(format="state_dict", path=weights, architecture=f"{net}:Net", trusted_sha256=digest)
        return torch_model_factory(spec)()

    x = torch.ones(1, 4)
    once, twice = build(1.0)(x), build(2.0)(x)  # type: ignore[operator]
    assert torch.allclose(twice, 2 * once)
