"""The worker's step payload is a typed result: it survives the process boundary as itself, and a payload of the
wrong shape is refused where it is parsed instead of being read by key (and misread) later."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shrinkwise.compression.events import ResultEvent, StepEvent, dump_event, parse_event
from shrinkwise.compression.jobs import Job, JobStep
from shrinkwise.compression.measure.layer_error import LayerError, LayerErrorReport
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.results import Artifact, QualityDetails, RunResult, StepResult
from shrinkwise.compression.runner import Run


def _step() -> StepResult:
    return StepResult(
        technique="int8_static",
        config={"per_channel": True},
        artifact=Artifact(path="step1_int8_static/model.onnx", size_bytes=1234, summary="int8", notes=["a caveat"]),
        measurements=[Measurement(metric="size_bytes", value=1234.0, unit="B", source="host")],
        quality=QualityDetails(data_source="labelled", samples=10, per_class_accuracy={"0": 0.9}, disagreements=[3]),
        layer_error=LayerErrorReport(layers=[LayerError(node="conv1", op_type="Conv", activation_sqnr_db=31.5)]),
    )


def test_a_step_crosses_the_pipe_as_itself() -> None:
    step = _step()
    back = parse_event(dump_event(StepEvent(index=0, payload=step)))
    assert isinstance(back, StepEvent) and back.payload == step
    assert (
        back.payload.layer_error is not None and back.payload.layer_error.by_node()["conv1"].activation_sqnr_db == 31.5
    )
    result = parse_event(dump_event(ResultEvent(payload=RunResult(steps=[step]))))
    assert isinstance(result, ResultEvent) and result.payload.steps[0].artifact.notes == ["a caveat"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p.update(measurement=p.pop("measurements")),  # a renamed field
        lambda p: p["artifact"].pop("size_bytes"),  # a missing one
        lambda p: p["quality"].update(per_class_acc={}),  # a key nobody reads
        lambda p: p["measurements"][0].update(value="fast"),  # a wrong type
    ],
)
def test_a_payload_of_the_wrong_shape_is_refused_where_it_is_parsed(edit) -> None:  # type: ignore[no-untyped-def]
    line = json.loads(dump_event(StepEvent(index=0, payload=_step())))
    edit(line["payload"])
    with pytest.raises(ValueError):
        parse_event(json.dumps(line))


def test_a_runner_that_cannot_read_the_result_says_so(tmp_path: Path) -> None:
    """A worker whose result the runner cannot parse is a failed run naming the bug, not 'exited without a result'."""
    fake = tmp_path / "fake_worker.py"
    fake.write_text('print(\'{"kind": "result", "payload": {"steps": [{"technique": "fp16"}]}}\')\n')
    job = Job(original_onnx="x.onnx", out_dir=str(tmp_path), steps=[JobStep(technique="fp16")], input_names=["x"])
    run = Run(job, tmp_path / "job.json", time_limit_s=30)
    run.job.write(run.job_path)
    run.proc = subprocess.Popen([sys.executable, str(fake)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import threading

    threading.Thread(target=run._drain_stderr, daemon=True).start()
    outcome = run.wait()
    assert outcome.status == "failed" and outcome.error is not None
    assert "could not be read" in outcome.error and "fp16" in outcome.error_details
