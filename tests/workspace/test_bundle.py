"""The on-device benchmark bundle: contents, the standalone script, strict results import, and the round trip."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shrinkwise.workspace.bundle import import_results, make_bundle
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.session import Session
from tests.workspace.test_report_fixtures import swept_project  # noqa: F401  (fixture)


def _candidate(project: Path):  # type: ignore[no-untyped-def]
    return next(e for e in Session.open(project).project.experiments if e.kind == "sweep")


def _run_script(folder: Path, python: str = sys.executable, extra: list[str] | None = None) -> Path:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run(
        [
            python,
            "run_benchmark.py",
            "--device-name",
            "test <board>",
            "--repeats",
            "40",
            "--rounds",
            "4",
            "--warmup",
            "3",
            *(extra or []),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return folder / "results.json"


def test_bundle_folder_contents(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    exp = _candidate(swept_project)
    out = make_bundle(Session.open(swept_project), exp.id, tmp_path / "b", samples=16)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "README.txt",
        "candidate.onnx",
        "manifest.json",
        "original.onnx",
        "run_benchmark.py",
        "samples.npz",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["candidate"]["id"] == exp.id and manifest["sample_count"] == 16
    assert manifest["models"]["candidate"]["sha256"] == exp.final_artifact.sha256
    script = (out / "run_benchmark.py").read_text()
    imports = {
        line.split()[1].split(".")[0] for line in script.splitlines() if line.strip().startswith(("import ", "from "))
    }
    assert imports <= {
        "__future__",
        "argparse",
        "hashlib",
        "json",
        "os",
        "platform",
        "subprocess",
        "sys",
        "time",
        "numpy",
        "onnxruntime",
        "resource",
    }, imports


def test_bundle_zip(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    assert (
        main(
            [
                "bundle",
                str(swept_project),
                _candidate(swept_project).id,
                "--out",
                str(tmp_path / "dev.zip"),
                "--samples",
                "0",
            ]
        )
        == 0
    )
    with zipfile.ZipFile(tmp_path / "dev.zip") as zf:
        names = set(zf.namelist())
    assert "dev/run_benchmark.py" in names and "dev/manifest.json" in names and "dev/samples.npz" not in names


def test_script_runs_and_results_import_back(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    from shrinkwise.workspace.report import build_report, render

    exp = _candidate(swept_project)
    folder = make_bundle(Session.open(swept_project), exp.id, tmp_path / "b", samples=8)
    results = _run_script(folder)
    assert main(["import-results", str(swept_project), str(results)]) == 0
    session = Session.open(swept_project)
    got = session.project.experiment(exp.id)
    device = {m.metric: m for m in got.measurements if m.source == "device"}
    assert {"latency_ms_median", "latency_ms_p90", "latency_ratio", "top1_agreement", "sqnr_db"} <= set(device)
    m = device["latency_ms_median"]
    assert m.details["device"] == "test <board>" and m.details["threads"] == 1 and m.details["onnxruntime"]
    assert any(x.source == "device" for x in session.project.baseline.measurements)
    # Importing twice replaces rather than duplicates.
    assert main(["import-results", str(swept_project), str(results)]) == 0
    again = Session.open(swept_project).project.experiment(exp.id)
    assert sum(1 for x in again.measurements if x.source == "device" and x.metric == "latency_ms_median") == 1
    # The report shows the device numbers, labelled, and escapes the device's name.
    session.project.chosen = exp.id
    report = build_report(session)
    info = next(e for e in report.experiments if e.id == exp.id)
    assert next(f for f in info.figures if f.metric == "latency_ms_median").source == "device"
    assert next(f for f in info.figures if f.metric == "accuracy").source == "host"
    html = render(report, "html").decode()
    assert 'class="src device"' in html and "test &lt;board&gt;" in html and "test <board>" not in html


@pytest.fixture
def results_file(swept_project: Path, tmp_path: Path) -> tuple[Path, dict]:  # noqa: F811
    exp = _candidate(swept_project)
    folder = make_bundle(Session.open(swept_project), exp.id, tmp_path / "b", samples=4)
    path = _run_script(folder, extra=["--no-memory"])
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r["latency_ms"].pop("median"), "latency_ms.median"),
        (lambda r: r["device"].__setitem__("threads", 0), "device.threads"),
        (lambda r: r.__setitem__("surprise", 1), "surprise"),
        (lambda r: r["latency_ms"].__setitem__("p90", "fast"), "latency_ms.p90"),
        (lambda r: r.__setitem__("results_version", 99), "results_version"),
        (lambda r: r["bundle"].__setitem__("model_sha256", "xyz"), "bundle.model_sha256"),
    ],
)
def test_results_are_validated_strictly(swept_project: Path, results_file, edit, field, capsys) -> None:  # noqa: F811
    path, raw = results_file
    bad = copy.deepcopy(raw)
    edit(bad)
    path.write_text(json.dumps(bad))
    assert main(["import-results", str(swept_project), str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"field '{field}'" in err


def test_results_for_another_model_are_refused(swept_project: Path, results_file, capsys) -> None:  # noqa: F811
    path, raw = results_file
    raw["bundle"]["model_sha256"] = "0" * 64
    path.write_text(json.dumps(raw))
    assert main(["import-results", str(swept_project), str(path)]) == 2
    assert "results are for another model" in capsys.readouterr().err
    path.write_text("{not json")
    assert main(["import-results", str(swept_project), str(path)]) == 2


@pytest.mark.slow
def test_script_runs_in_a_clean_venv_with_only_numpy_and_onnxruntime(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    """The device side needs nothing of Shrinkwise: a fresh venv with numpy + onnxruntime from pip (cache or registry)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / ("Scripts/python.exe" if sys.platform.startswith("win") else "bin/python"))
    pip = subprocess.run(
        [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "numpy", "onnxruntime"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if pip.returncode != 0:
        pytest.skip(f"pip could not install numpy/onnxruntime here: {pip.stderr.strip().splitlines()[-1:]}")
    listed = subprocess.run(
        [py, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    installed = {p["name"].lower() for p in json.loads(listed)}
    assert "torch" not in installed and "shrinkwise" not in installed and "pydantic" not in installed
    exp = _candidate(swept_project)
    folder = make_bundle(Session.open(swept_project), exp.id, tmp_path / "bundle.zip", samples=8)
    with zipfile.ZipFile(folder) as zf:
        zf.extractall(tmp_path / "device")
    results = _run_script(tmp_path / "device" / "bundle", python=py)
    session = Session.open(swept_project)
    got, added = import_results(session, results)
    assert got.id == exp.id and any(m.metric == "peak_memory_mb" for m in added)
