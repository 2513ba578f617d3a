"""The worker process: `python -m shrinkwise.compression.worker JOB.json` runs one job's recipe and reports as JSON lines.

Why a process: native code (ONNX Runtime, torch) that crashes or runs out of memory kills this process, not the
app, and the parent marks the run failed with our stderr tail. Stdout carries only events, one JSON object a line
(flushed each); everything else that any library prints, from Python or native code, is sent to stderr.

Test hook: the environment variable `SHRINKWISE_WORKER_TEST_SLEEP_S` (seconds, float) makes the worker wait that
long before each step, yielding progress every 0.1 s, so tests can cancel or SIGKILL a run mid-way. It is read
only here and does nothing when unset.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from shrinkwise.compression.errors import (
    ShrinkwiseError,
    TechniqueError,
    is_runtime_error,
    runtime_error_text,
    runtime_errors,
    wrap_runtime_error,
)
from shrinkwise.compression.events import ErrorEvent, LogLine, MetricPoint, Progress, ResultEvent, StepEvent, dump_event
from shrinkwise.compression.jobs import Job, labelled, load_dataset
from shrinkwise.compression.measure.layer_error import LayerErrorReport
from shrinkwise.compression.results import QualityDetails, RunResult, StepResult

TEST_SLEEP_ENV = "SHRINKWISE_WORKER_TEST_SLEEP_S"
MEASURE_SHARE = 0.25  # share of a step's progress bar spent measuring


class _Emitter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: Any) -> None:
        self.stream.write(dump_event(event) + "\n")
        self.stream.flush()


def _claim_stdout() -> TextIO:
    """Keep the real stdout for events; point fd 1 and sys.stdout at stderr so stray output cannot corrupt the pipe."""
    events_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.TextIOWrapper(os.fdopen(events_fd, "wb", buffering=0), encoding="utf-8", write_through=True)


def _watch_parent() -> None:
    """Exit when the parent dies (its pipe would go nowhere; a stray worker would hold CPU and memory)."""
    parent = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=loop, daemon=True).start()


def _test_sleep(emit: Callable[[Any], None], fraction: float) -> None:
    delay = float(os.environ.get(TEST_SLEEP_ENV) or 0)
    end = time.monotonic() + delay
    while time.monotonic() < end:
        emit(Progress(fraction=fraction, message="test hook: waiting"))
        time.sleep(0.1)


def run_job(job: Job, emit: Callable[[Any], None]) -> RunResult:
    """Run every step, measure each output against the original, and return the result payload."""
    from shrinkwise.compression.catalog import technique_config, technique_module
    from shrinkwise.compression.measure.evaluate import measure_candidate, reference_outputs
    from shrinkwise.compression.technique_api import TechniqueContext, drive

    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    original = Path(job.original_onnx)
    evaluation = load_dataset(job.evaluation, job.input_names, job.evaluation_generated) if job.evaluation else None
    if evaluation is None:
        raise ShrinkwiseError("the job has no evaluation data", fix="give the job an evaluation .npz")
    calibration = load_dataset(job.calibration, job.input_names) if job.calibration else None
    training = load_dataset(job.training, job.input_names) if job.training else None
    # The original torch model stays the teacher/reference for every step; a TorchScript file written by an earlier
    # step (e.g. a pruned model) reaches later steps as `previous_torch_model_path` (distill's student="previous").
    torch_factory = _torch_factory(job)
    previous_torch: Path | None = None

    emit(Progress(fraction=0.0, message="computing the original's reference outputs"))
    reference = reference_outputs(original, evaluation, job.io)
    started = time.monotonic()
    n = len(job.steps)
    steps: list[StepResult] = []
    layer_error = LayerErrorReport(reason="the analysed step did not finish")
    analysed = None if job.layer_error_step is None else job.layer_error_step % n
    current = original
    for i, step in enumerate(job.steps):
        base = i / n
        label = f"step {i + 1}/{n} {step.technique}"
        _test_sleep(emit, base)
        module = technique_module(step.technique)
        # The workspace checked the settings before recording the run; a job written by hand is checked here.
        config = technique_config(step.technique, step.config, step=i + 1 if n > 1 else None)
        step_dir = out_dir / f"step{i + 1}_{step.technique}"
        step_dir.mkdir(parents=True, exist_ok=True)
        remaining = None if job.time_budget_s is None else max(1.0, job.time_budget_s - (time.monotonic() - started))
        ctx = TechniqueContext(
            onnx_path=current if job.chain else original,
            out_dir=step_dir,
            calibration=labelled(calibration),
            train=labelled(training),
            torch_model=torch_factory,
            previous_torch_model_path=previous_torch if job.chain else None,
            sensitivity=job.sensitivity,
            time_budget_s=remaining,
            seed=job.seed,
            io=job.io,
        )
        emit(LogLine(text=f"{label}: starting"))

        def forward(event: Any, base: float = base, label: str = label) -> None:
            if isinstance(event, Progress):
                frac = base + event.fraction * (1 - MEASURE_SHARE) / n
                emit(Progress(fraction=min(1.0, frac), message=f"{label}: {event.message}"))
            elif isinstance(event, (MetricPoint, LogLine)):
                emit(event)

        with runtime_errors(ctx.onnx_path, f"run {step.technique} on this model", kind=TechniqueError):
            artifact = drive(module.apply(ctx, config), forward)
        file = step_dir / artifact.path
        if not file.exists():
            raise TechniqueError(f"{step.technique} reported an artifact that was not written ({artifact.path})")
        check_artifact_loads(file, step.technique)
        emit(Progress(fraction=base + (1 - MEASURE_SHARE) / n, message=f"{label}: measuring"))
        measured = measure_candidate(
            file,
            original,
            evaluation,
            step_dir / "measure",
            reference=reference,
            encoded_size_bytes=artifact.encoded_size_bytes,
            threads=job.threads,
            latency_seconds=job.latency_seconds,
            measure_memory=job.measure_memory,
            io=job.io,
            saturation_note=job.saturation_note,
        )
        # Paths in the result are relative to the job's out_dir.
        moved: dict[str, Any] = {"path": file.relative_to(out_dir).as_posix(), "notes": artifact.notes + measured.notes}
        if artifact.torch_model_path:
            ts = step_dir / artifact.torch_model_path
            moved["torch_model_path"] = ts.relative_to(out_dir).as_posix()
            previous_torch = ts
        result = StepResult(
            technique=step.technique,
            config=config.model_dump(mode="json"),
            artifact=artifact.model_copy(update=moved),
            measurements=measured.measurements,
            quality=QualityDetails.model_validate(measured.quality),
        )
        steps.append(result)
        if i == analysed:
            emit(
                Progress(
                    fraction=base + (1 - MEASURE_SHARE / 2) / n, message=f"{label}: per-layer error (ORT QDQ debugging)"
                )
            )
            layer_error = _layer_error(
                ctx.onnx_path, file, evaluation, job.threads, bool(step.config.get("preprocess", True))
            )
            result.layer_error = layer_error
        current = file
        # Each finished step is reported at once, so a later step's failure does not lose it.
        emit(StepEvent(index=i, payload=result))
        emit(Progress(fraction=(i + 1) / n, message=f"{label}: done"))
    return RunResult(steps=steps, layer_error=layer_error if analysed is not None else None)


def check_artifact_loads(file: Path, technique: str) -> None:
    """Every artifact must open in ONNX Runtime before it is recorded: a broken file becomes this step's error."""
    from shrinkwise.compression.measure.runtime import make_session

    try:
        make_session(file)
    except Exception as exc:  # noqa: BLE001 - whatever ORT raises, the step failed
        raise TechniqueError(
            f"{technique} wrote a model ONNX Runtime cannot load ({type(exc).__name__}: {runtime_error_text(exc)})",
            file,
            f"it was not recorded; try {technique} with other settings (e.g. keep the named op in float), or "
            "leave it out of the recipe",
        ) from None


def _layer_error(float_model: Path, quantized: Path, inputs: Any, threads: int, preprocess: bool) -> LayerErrorReport:
    """Per-layer SQNR of a quantized step's output against its float input; a reason instead when it cannot."""
    from shrinkwise.compression.measure.layer_error import layer_error

    try:
        return layer_error(float_model, quantized, inputs, threads=threads, preprocess=preprocess)
    except Exception as exc:  # noqa: BLE001 - layer_error already never raises; belt and braces for the analysis
        return LayerErrorReport(reason=f"{type(exc).__name__}: {exc}"[:300])


def _torch_factory(job: Job) -> Callable[[], Any] | None:
    """A lazy factory: torch is imported only when a technique actually asks for the model."""
    if job.torch is None:
        return None
    spec_data = job.torch
    built: list[Callable[[], Any]] = []

    def factory() -> Any:
        if not built:
            from shrinkwise.compression.intake import TorchModelSpec, torch_model_factory

            spec = TorchModelSpec(
                format=spec_data.format,
                path=Path(spec_data.path),  # type: ignore[arg-type]
                architecture=spec_data.architecture,
                arch_kwargs=spec_data.arch_kwargs,
                trusted_sha256=spec_data.trusted_sha256,
            )
            built.append(torch_model_factory(spec, Path(spec_data.base_dir) if spec_data.base_dir else None))
        return built[0]()

    return factory


def cap_memory(limit_bytes: int | None) -> None:
    """Cap this process's address space (Linux; elsewhere nothing): past it an allocation fails (MemoryError,
    bad_alloc) instead of the machine swapping, and the runner turns that into one line naming the limit."""
    if not limit_bytes or not sys.platform.startswith("linux"):
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    emit = _Emitter(_claim_stdout())
    _watch_parent()
    import warnings

    warnings.simplefilter("default")
    if len(argv) != 1:
        emit(ErrorEvent(message="usage: python -m shrinkwise.compression.worker JOB.json"))
        return 2
    try:
        job = Job.read(Path(argv[0]))
        cap_memory(job.memory_limit_bytes)
        payload = run_job(job, emit)
    except ShrinkwiseError as exc:
        emit(ErrorEvent(message=str(exc), details=traceback.format_exc()))
        return 1
    except Exception as exc:  # a bug or a library failure: name it, keep the traceback
        if is_runtime_error(exc):  # belt and braces: the entry points above already wrap these
            emit(ErrorEvent(message=str(wrap_runtime_error(exc, None, "run this job")), details=traceback.format_exc()))
            return 1
        first = str(exc).splitlines()[0] if str(exc) else ""
        emit(ErrorEvent(message=f"{exc.__class__.__name__}: {first}"[:500], details=traceback.format_exc()))
        return 1
    emit(ResultEvent(payload=payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
