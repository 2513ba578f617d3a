"""The whole flow on each real-graph shape (issue 12): new project -> model -> data -> profile -> advise -> fp16,
int8_dynamic and int8_static runs -> sensitivity -> report; every step finishes, and each run's recorded cosine
matches one computed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.compression.models import cast_to_float_model, constant_weights_cnn, recurrent_classifier, shared_kernel_cnn


def _outputs(path: Path, x: np.ndarray) -> np.ndarray:
    from shrinkwise.compression.measure.runtime import quality_session

    # As the worker measures quality: one thread (DynamicQuantizeLSTM's result depends on the threads) and the exact
    # int8 kernel (the default one saturates on x86 without VNNI: cosine 0.985 instead of 0.9998 for int8_static).
    sess, _ = quality_session(path, threads=1)
    return sess.run(None, {"x": x})[0].astype(np.float64)


def _cosine_mean(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float(np.mean(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


SHAPES = {
    "constant_weights": (lambda p: constant_weights_cnn(p)[0], (1, 8, 8), 5210),
    "lstm": (lambda p: recurrent_classifier(p, op="LSTM"), (12, 16), 6529),
    "stft_like_cast": (cast_to_float_model, (16,), 128),
    "shared_kernel": (lambda p: shared_kernel_cnn(p)[0], (4, 8, 8), 4 * 4 * 3 * 3 + 4 * 8 * 8 * 3 + 2),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_flow_on_real_graph_shapes(tmp_path: Path, shape: str) -> None:
    from shrinkwise.workspace.runs import run_recipe
    from shrinkwise.workspace.session import Session

    build, sample, parameters = SHAPES[shape]
    model = build(tmp_path / f"{shape}.onnx")
    np.savez(tmp_path / "data.npz", x=np.random.default_rng(0).standard_normal((48, *sample)).astype(np.float32))
    session = Session.create(tmp_path / "project" / "p.shrinkwise.json")
    session.attach_model(model)
    session.add_data(tmp_path / "data.npz")
    assert session.profile().parameters == parameters
    session.advise()  # must not raise on these graphs
    evaluation = session.datasets()["evaluation"]
    assert evaluation is not None
    x = evaluation.inputs["x"]
    reference = _outputs(session.onnx_path, x)
    for technique in ("fp16", "int8_dynamic", "int8_static"):
        exp = run_recipe(session, [technique], latency_seconds=0.2, measure_memory=False)
        assert exp.status == "finished", (technique, exp.error)
        artifact = exp.final_artifact
        assert artifact is not None
        cosine = exp.measurement("cosine_mean")
        assert cosine is not None
        expected = _cosine_mean(reference, _outputs(session.resolve(artifact.path), x))
        assert cosine.value == pytest.approx(expected, abs=1e-6), technique
        assert cosine.value > 0.98, technique
        if technique == "fp16" and shape == "stft_like_cast":
            assert any("Kept in float32 automatically" in n for n in artifact.notes)
        if technique == "int8_static" and shape == "lstm":
            assert any("LSTM ×1" in n for n in artifact.notes)

    # The sensitivity analysis and the report run on the same graph without a traceback, and say what they found.
    from shrinkwise.workspace.report import write_report
    from shrinkwise.workspace.runs import sensitivity

    sens = sensitivity(session, tolerance=0.05, latency_seconds=0.2)
    assert sens.status == "finished", sens.error
    result = sens.sensitivity_result()
    assert result is not None and (result.ranking or result.not_ranked)
    report = write_report(session, "md", tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Traceback" not in report and "shrinkwise sensitivity" in report  # its recreate command
