"""On-device benchmark bundles, and bringing their results back as `device` measurements.

A bundle is a folder (or a .zip of one) with the candidate's ONNX file, optionally the original and a few evaluation
inputs, `manifest.json`, the standalone `run_benchmark.py` (Python + numpy + onnxruntime, nothing of Shrinkwise)
and `README.txt`. On the device the script writes `results.json`; `import_results` validates it strictly and
attaches the numbers to the candidate with `source="device"`, so the advisor and the report use them.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.compression.io_spec import OutputTask
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.measure.scoring import PLAIN_ORDER
from shrinkwise.workspace.export import _external_data, _require_usable, find_candidate
from shrinkwise.workspace.hashing import sha256_file
from shrinkwise.workspace.project import Experiment
from shrinkwise.workspace.session import Session

BUNDLE_VERSION = 2  # 2: manifest.json carries the data spec (inputs' samples axes, outputs' tasks)
RESULTS_VERSION = 2  # 2: every output scored by its task ("outputs"); 1 scored output 0 only ("agreement")
SCRIPT_NAME = "run_benchmark.py"
MAX_SAMPLES = 1000
# The metrics run_benchmark.py may report per output: the host's own (measure.scoring), nothing else.
DeviceMetric = Literal[
    "top1_agreement",
    "decision_agreement",
    "nn_agreement",
    "value_fidelity",
    "relative_error",
    "frame_cosine_mean",
    "frame_cosine_min",
    "mean_abs_error",
    "sqnr_db",
    "cosine_mean",
    "cosine_min",
]

README = """Shrinkwise on-device benchmark for '{label}' ({candidate_id}) from project '{project}'
==========================================================================================

What is here
  {candidate_file:<22} the candidate model (sha256 {candidate_sha})
{original_line}{samples_line}  manifest.json          what the bundle holds, with hashes
  run_benchmark.py       the benchmark: needs only Python 3.8+, numpy and onnxruntime

On the device
  1. Copy this folder to the device.
  2. Install the two libraries if they are missing:   python3 -m pip install numpy onnxruntime
     (use the onnxruntime build your app will ship with; its version is recorded in the results)
  3. Run:   python3 run_benchmark.py --device-name "my device"
     Options: --threads N (default 1), --repeats N, --warmup N, --provider NAME, --no-memory
  4. It writes results.json here: latency at batch 1 (warm-up, interleaved repeats, median and p90),
     peak memory of a fresh process running the model, and{agreement_word} output agreement with the original.

Back on your computer
  shrinkwise import-results PROJECT results.json

The numbers then show as "measured on the device" in the report and the advisor uses them.
A results file made for another model (a different hash) is refused.
"""


# --- making a bundle ---------------------------------------------------------------------------------------------


def _sample_inputs(session: Session, count: int) -> tuple[dict[str, Any], int] | None:
    """The first `count` evaluation samples (each input cut along its own samples axis) and how many they are."""
    import numpy as np

    evaluation = session.datasets()["evaluation"]
    if evaluation is None or evaluation.generated or count <= 0:
        return None
    n = min(count, len(evaluation), MAX_SAMPLES)
    sub = evaluation.subset(np.arange(n))
    return dict(sub.inputs), len(sub)


def data_spec(session: Session, with_outputs: bool) -> dict[str, Any]:
    """What run_benchmark.py needs to feed the model and score it as the host does: each input's kind and samples
    axis (the evaluation data's), and each output's task, threshold, declared samples axis and whether it is the
    primary one (the tasks the host scores with: declared, else inferred on the evaluation data)."""
    from shrinkwise.compression.io_spec import resolve_inputs

    evaluation = session.datasets()["evaluation"]
    axes = dict(evaluation.axes) if evaluation is not None else {}
    io = session.project.io
    resolved = resolve_inputs(session.require_model().signature, io)
    inputs = {
        name: {
            "kind": "constant" if axes.get(name, r.batch_axis) is None else r.kind,
            "batch_axis": axes.get(name, r.batch_axis),
        }
        for name, r in resolved.items()
    }
    outputs = []
    if with_outputs:
        for q in session.output_tasks():
            declared = io.outputs.get(q.output)
            outputs.append(
                {
                    "name": q.output,
                    "task": q.task,
                    "threshold": q.threshold,
                    "primary": q.primary,
                    "batch_axis": declared.batch_axis if declared is not None else None,
                }
            )
    return {"inputs": inputs, "outputs": outputs}


def _copy_model(src: Path, dest_dir: Path, name: str) -> str:
    shutil.copyfile(src, dest_dir / name)
    for side in _external_data(src):
        shutil.copyfile(src.parent / side, dest_dir / side)
    return name


def write_bundle_folder(
    session: Session, exp: Experiment, folder: Path, samples: int = 32, include_original: bool = True
) -> Path:
    import numpy as np

    from shrinkwise.workspace.atomic import atomic_write_text
    from shrinkwise.workspace.versions import shrinkwise_version

    art = exp.final_artifact
    assert art is not None
    src = session.resolve(art.path)
    if not src.exists():
        raise ShrinkwiseError("the candidate's model file is missing", src, "re-run the candidate")
    if sha256_file(src) != art.sha256:
        raise ShrinkwiseError(
            "the candidate's model file changed since it was measured (hash differs)", src, "re-run the candidate"
        )
    folder.mkdir(parents=True, exist_ok=True)
    models: dict[str, dict[str, Any]] = {
        "candidate": {
            "file": _copy_model(src, folder, "candidate.onnx"),
            "sha256": art.sha256,
            "size_bytes": src.stat().st_size,
        }
    }
    original = session.onnx_path
    with_original = include_original and exp.kind != "baseline"
    if with_original:
        models["original"] = {
            "file": _copy_model(original, folder, "original.onnx"),
            "sha256": session.require_model().onnx_sha256,
            "size_bytes": original.stat().st_size,
        }
    picked = _sample_inputs(session, samples)
    inputs, sample_count = picked if picked is not None else (None, 0)
    samples_file = None
    if inputs is not None:
        samples_file = "samples.npz"
        buf = io.BytesIO()
        np.savez_compressed(buf, **inputs)
        (folder / samples_file).write_bytes(buf.getvalue())
    shutil.copyfile(str(resources.files("shrinkwise.workspace.bundle").joinpath(SCRIPT_NAME)), folder / SCRIPT_NAME)
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "made_by": f"shrinkwise {shrinkwise_version()}",
        "project": session.project.name,
        "candidate": {
            "id": exp.id,
            "label": exp.label or exp.id,
            "recipe": [s.model_dump(mode="json") for s in exp.recipe],
        },
        "models": models,
        "samples": samples_file,
        "sample_count": sample_count,
        "data_spec": data_spec(session, with_outputs=inputs is not None and with_original),
        "inputs": [s.model_dump(mode="json") for s in session.require_model().signature.inputs],
        "host_measurements": [
            m.model_dump(mode="json")
            for m in exp.measurements
            if m.source == "host"
            and m.metric in ("latency_ms_median", "latency_ms_p90", "peak_memory_mb", "size_bytes")
        ],
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    n = manifest["sample_count"]
    atomic_write_text(
        folder / "README.txt",
        README.format(
            label=exp.label or exp.id,
            candidate_id=exp.id,
            project=session.project.name,
            candidate_file="candidate.onnx",
            candidate_sha=art.sha256[:16],
            original_line="  original.onnx          the original model, for output agreement\n"
            if with_original
            else "",
            samples_line=f"  samples.npz            {n} evaluation input(s)\n" if n else "",
            agreement_word="" if (with_original and n) else " (not in this bundle:)",
        ),
    )
    for name in ("manifest.json", "README.txt"):
        (folder / name).chmod(0o644)  # temp files are private; these are meant to be read and copied
    return folder


def _zip_folder(folder: Path, zip_path: Path) -> Path:
    """A zip with fixed timestamps and sorted entries, inside one top-level folder named after the zip."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    top = zip_path.stem
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                info = zipfile.ZipInfo(f"{top}/{p.relative_to(folder).as_posix()}", date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o755 if p.name == SCRIPT_NAME else 0o644) << 16
                zf.writestr(info, p.read_bytes())
    tmp.replace(zip_path)
    return zip_path


def make_bundle(
    session: Session, ref: str | None, out: Path | str, samples: int = 32, include_original: bool = True
) -> Path:
    """Write the bundle to a folder, or to a .zip when `out` ends in .zip. Returns what was written."""
    import tempfile

    if samples < 0:
        raise ShrinkwiseError("--samples must be 0 or more")
    exp = find_candidate(session, ref)
    _require_usable(session, exp)
    out = Path(out)
    if out.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            write_bundle_folder(session, exp, Path(tmp) / "bundle", samples, include_original)
            return _zip_folder(Path(tmp) / "bundle", out)
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise ShrinkwiseError("folder exists and is not an earlier bundle", out, "give an empty or new folder")
    return write_bundle_folder(session, exp, out, samples, include_original)


# --- results -----------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class BundleRef(_Strict):
    bundle_version: int = Field(ge=1, le=BUNDLE_VERSION)
    project: str
    candidate_id: str = Field(min_length=1)
    candidate_label: str = ""
    model_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    original_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class DeviceInfo(_Strict):
    name: str = Field(min_length=1, max_length=200)
    platform: str = ""
    machine: str = ""
    processor: str = ""
    cpu_count: int = Field(default=0, ge=0)
    python: str = ""
    onnxruntime: str = Field(min_length=1)
    numpy: str = ""
    provider: str = Field(min_length=1)
    threads: int = Field(ge=1, le=1024)


class Settings(_Strict):
    warmup: int = Field(ge=0)
    repeats: int = Field(ge=1)
    rounds: int = Field(ge=1)
    batch: int = Field(ge=1)
    feed: str = ""


class LatencyStats(_Strict):
    median: float = Field(gt=0.0)
    p90: float = Field(gt=0.0)
    mean: float = Field(gt=0.0)
    min: float = Field(gt=0.0)
    max: float = Field(gt=0.0)
    iqr: float = Field(ge=0.0)
    runs: int = Field(ge=1)


class OutputResult(_Strict):
    """One output scored on the device by its task (run_benchmark.score_output, the host's metrics)."""

    output: str = Field(min_length=1, max_length=1000)
    task: OutputTask
    primary: bool = False
    threshold: float | None = None
    samples: int = Field(ge=1)
    metrics: dict[DeviceMetric, float] = Field(default_factory=dict)
    disagreements: list[int] = Field(default_factory=list, max_length=1000)


class Agreement(_Strict):
    samples: int = Field(ge=1)
    sqnr_db: float
    cosine_mean: float = Field(ge=-1.0001, le=1.0001)
    cosine_min: float = Field(ge=-1.0001, le=1.0001)
    max_abs_diff: float = Field(ge=0.0)
    top1_agreement: float | None = Field(default=None, ge=0.0, le=1.0)
    disagreements: list[int] = Field(default_factory=list, max_length=1000)


class DeviceResults(_Strict):
    """The results file written by `run_benchmark.py`; validated field by field on import."""

    results_version: Literal[1, 2]
    bundle: BundleRef
    device: DeviceInfo
    settings: Settings
    latency_ms: LatencyStats
    original_latency_ms: LatencyStats | None = None
    peak_memory_mb: float | None = Field(default=None, ge=0.0)
    memory_note: str = ""
    agreement: Agreement | None = None  # results version 1: output 0 only
    outputs: list[OutputResult] | None = Field(default=None, max_length=1000)  # version 2: every output
    finished: str = ""


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"field '{where}': {err['msg']}"


def read_results(path: Path | str) -> DeviceResults:
    path = Path(path)
    fix = "use the results.json that run_benchmark.py wrote, unedited"

    def refuse_constant(name: str) -> None:  # NaN/Infinity would be saved as null and break the project
        raise ShrinkwiseError(f"holds {name}, which is not a measurement", path, fix)

    try:
        raw = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse_constant)
    except FileNotFoundError:
        raise ShrinkwiseError("no such results file", path, "give the results.json from the device") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShrinkwiseError(f"cannot be read ({exc.__class__.__name__})", path, fix) from None
    except json.JSONDecodeError as exc:
        raise ShrinkwiseError(f"is not valid JSON (line {exc.lineno}, column {exc.colno})", path, fix) from None
    except (RecursionError, ValueError) as exc:  # nesting too deep; an integer over 4300 digits
        raise ShrinkwiseError(f"cannot be read safely ({exc.__class__.__name__})", path, fix) from None
    if not isinstance(raw, dict):
        raise ShrinkwiseError("is not a benchmark results file (expected a JSON object)", path, fix)
    try:
        return DeviceResults.model_validate(raw)
    except ValidationError as exc:
        raise ShrinkwiseError(f"is not a valid results file: {_first_error(exc)}", path, fix) from None


def _device_measurements(res: DeviceResults, results_sha: str) -> tuple[list[Measurement], list[Measurement]]:
    """(for the candidate, for the original) as `device` measurements."""
    d = res.device
    details = {
        "device": d.name,
        "runtime": f"onnxruntime {d.onnxruntime} {d.provider}",
        "onnxruntime": d.onnxruntime,
        "provider": d.provider,
        "threads": d.threads,
        "platform": d.platform,
        "machine": d.machine,
        "batch": res.settings.batch,
        "results_sha256": results_sha,
    }
    lat = dict(details, runs=res.latency_ms.runs, warmup=res.settings.warmup)
    cand = [
        Measurement(metric="latency_ms_median", value=res.latency_ms.median, unit="ms", source="device", details=lat),
        Measurement(metric="latency_ms_p90", value=res.latency_ms.p90, unit="ms", source="device", details=lat),
        Measurement(metric="latency_ms_iqr", value=res.latency_ms.iqr, unit="ms", source="device", details=lat),
    ]
    orig: list[Measurement] = []
    if res.original_latency_ms is not None:
        o = res.original_latency_ms
        cand.append(
            Measurement(
                metric="latency_ratio",
                value=res.latency_ms.median / o.median,
                unit="x",
                source="device",
                details=dict(lat, note="candidate median / original median, timed interleaved on the device"),
            )
        )
        cand.append(
            Measurement(
                metric="original_latency_ms_median",
                value=o.median,
                unit="ms",
                source="device",
                details=dict(lat, runs=o.runs),
            )
        )
        olat = dict(details, runs=o.runs, warmup=res.settings.warmup)
        orig = [
            Measurement(metric="latency_ms_median", value=o.median, unit="ms", source="device", details=olat),
            Measurement(metric="latency_ms_p90", value=o.p90, unit="ms", source="device", details=olat),
        ]
    if res.peak_memory_mb is not None:
        cand.append(
            Measurement(
                metric="peak_memory_mb",
                value=res.peak_memory_mb,
                unit="MB",
                source="device",
                details=dict(details, how="growth of the peak RSS of a fresh process on the device"),
            )
        )
    cand.extend(_output_measurements(res, details))
    a = res.agreement
    if a is not None:
        q = dict(details, samples=a.samples, data="bundle samples")
        cand.append(Measurement(metric="sqnr_db", value=a.sqnr_db, unit="dB", source="device", details=q))
        cand.append(Measurement(metric="cosine_min", value=a.cosine_min, source="device", details=q))
        cand.append(Measurement(metric="cosine_mean", value=a.cosine_mean, source="device", details=q))
        if a.top1_agreement is not None:
            cand.append(Measurement(metric="top1_agreement", value=a.top1_agreement, source="device", details=q))
    return cand, orig


def _output_measurements(res: DeviceResults, details: dict[str, Any]) -> list[Measurement]:
    """Each output's device figures: the primary output's under the plain names the advisor and report read (as
    the host's), every other output's as `metric[output]` so that one output never replaces another's."""
    out: list[Measurement] = []
    for o in res.outputs or []:
        q = dict(details, samples=o.samples, data="bundle samples", output=o.output, task=o.task)
        for metric in PLAIN_ORDER:
            if metric not in o.metrics:
                continue
            name = metric if o.primary else f"{metric}[{o.output}]"
            unit = "dB" if metric == "sqnr_db" else ""
            out.append(Measurement(metric=name, value=o.metrics[metric], unit=unit, source="device", details=q))
    return out


def _replace(exp: Experiment, new: list[Measurement]) -> None:
    """Device results for the same device and metric replace earlier ones; everything else is kept."""
    keys = {(m.metric, m.details.get("device")) for m in new}
    exp.measurements = [
        m for m in exp.measurements if not (m.source == "device" and (m.metric, m.details.get("device")) in keys)
    ] + new


def import_results(session: Session, path: Path | str) -> tuple[Experiment, list[Measurement]]:
    """Validate a results file, check it belongs to a candidate of this project (by hash), attach and save."""
    path = Path(path)
    res = read_results(path)
    project = session.project
    try:
        exp = project.experiment(res.bundle.candidate_id)
    except KeyError:
        exp = None
    art = exp.final_artifact if exp is not None else None
    if exp is None or art is None or art.sha256 != res.bundle.model_sha256:
        match = [
            e
            for e in project.experiments
            if e.final_artifact is not None and e.final_artifact.sha256 == res.bundle.model_sha256
        ]
        if not match:
            raise ShrinkwiseError(
                f"results are for another model (sha256 {res.bundle.model_sha256[:12]}…, candidate '{res.bundle.candidate_id}'); "
                "no candidate of this project has that file",
                path,
                "make a new bundle with 'shrinkwise bundle' and run it on the device",
            )
        exp = match[0]
    cand, orig = _device_measurements(res, sha256_file(path))
    _replace(exp, cand)
    base = project.baseline
    if (
        orig
        and base is not None
        and res.bundle.original_sha256 == session.require_model().onnx_sha256
        and base is not exp
    ):
        _replace(base, orig)
    session.save()
    return exp, cand
