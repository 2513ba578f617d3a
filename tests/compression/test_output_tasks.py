"""Per-output tasks and the data spec (issue 12 items 1 and 2): what each output is inferred to be and why, each
task's metrics against numpy references, and inputs whose samples are not on axis 0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.data import load_npz
from shrinkwise.compression.errors import DataError, ShrinkwiseError
from shrinkwise.compression.io_spec import (
    NPZ_SPEC_KEY,
    InputSpec,
    IOSpec,
    OutputSpec,
    parse_input_decl,
    parse_task_decl,
    resolve_inputs,
)
from shrinkwise.compression.measure.runtime import make_session, run_outputs, session_signature
from shrinkwise.compression.measure.scoring import score_outputs
from shrinkwise.compression.measure.tasks import infer_task, score_output
from tests.compression.models import binary_probability, detector_head, embedding_encoder, stateful_vad

RNG = np.random.default_rng(0)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- inference, with the reason shown ----------------------------------------------------------------------------


def test_a_probability_column_is_binary_with_a_threshold() -> None:
    choice = infer_task("prob", RNG.uniform(0, 1, (40, 1)))
    assert choice.task == "binary" and choice.threshold == 0.5
    assert choice.reason == "output 'prob' is (N, 1) with values in [0, 1] → binary probability, threshold 0.5"
    assert infer_task("p", RNG.uniform(0, 1, 40)).task == "binary"  # (N,) too
    assert infer_task("depth", RNG.standard_normal((40, 1)) * 5).task == "regression"


def test_box_coordinates_and_embeddings_are_not_class_scores() -> None:
    labels = RNG.integers(0, 5, 40)
    assert infer_task("boxes", RNG.standard_normal((40, 4)), labels).task == "regression"
    # an unnamed 4-column output next to 5-class labels cannot be the labelled classifier
    assert infer_task("output0", RNG.standard_normal((40, 4)), labels).task == "regression"
    assert infer_task("logits", RNG.standard_normal((40, 5)), labels).task == "classification"
    emb = infer_task("speaker_embedding", RNG.standard_normal((40, 96)))
    assert emb.task == "embedding" and "emb" in emb.reason
    unit = RNG.standard_normal((40, 96))
    assert infer_task("out", unit / np.linalg.norm(unit, axis=1, keepdims=True)).task == "embedding"
    soft = np.exp(RNG.standard_normal((40, 10)))
    assert infer_task("out", soft / soft.sum(axis=1, keepdims=True)).task == "classification"
    assert infer_task("frames", RNG.standard_normal((40, 7, 3))).task == "sequence"
    assert infer_task("stateN", RNG.standard_normal((40, 2, 8)), state_outputs={"stateN": "state"}).task == "state"


# --- each task's metrics against a numpy reference ---------------------------------------------------------------


def test_binary_counts_flipped_decisions_where_cosine_sees_nothing() -> None:
    ref = RNG.uniform(0.4, 0.6, (200, 1))
    cand = ref + RNG.normal(0, 0.02, ref.shape)
    score = score_output("binary", ref, cand, threshold=0.5)
    expected = float(np.mean((ref[:, 0] >= 0.5) == (cand[:, 0] >= 0.5)))
    assert score.metrics["decision_agreement"] == pytest.approx(expected)
    assert expected < 0.95  # decisions near the threshold flip ...
    assert float(np.mean(_cos(ref, cand))) == 1.0  # ... while the old per-sample cosine said "identical"
    assert score.disagreements == np.nonzero((ref[:, 0] >= 0.5) != (cand[:, 0] >= 0.5))[0].tolist()


def test_embedding_scores_cosine_and_nearest_neighbours_not_argmax() -> None:
    ref = RNG.standard_normal((60, 24))
    cand = ref + RNG.normal(0, 0.05, ref.shape)
    score = score_output("embedding", ref, cand)
    assert score.metrics["cosine_mean"] == pytest.approx(float(np.mean(_cos(ref, cand))))
    assert "top1_agreement" not in score.metrics

    def nn(v: np.ndarray) -> np.ndarray:
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        s = v @ v.T
        np.fill_diagonal(s, -np.inf)
        return s.argmax(axis=1)

    assert score.metrics["nn_agreement"] == pytest.approx(float(np.mean(nn(ref) == nn(cand))))


def test_regression_and_sequence_metrics() -> None:
    ref, cand = RNG.standard_normal((30, 4)), RNG.standard_normal((30, 4)) * 0.1
    cand = ref + cand
    rel = float(np.linalg.norm(ref - cand) / np.linalg.norm(ref))
    score = score_output("regression", ref, cand)
    assert score.metrics["relative_error"] == pytest.approx(rel)
    assert score.metrics["value_fidelity"] == pytest.approx(1 - rel)
    assert score.metrics["sqnr_db"] == pytest.approx(10 * np.log10(np.sum(ref**2) / np.sum((ref - cand) ** 2)))
    seq_ref = RNG.standard_normal((10, 7, 3))
    seq_cand = seq_ref + RNG.normal(0, 0.1, seq_ref.shape)
    seq = score_output("sequence", seq_ref, seq_cand)
    assert seq.metrics["frame_cosine_mean"] == pytest.approx(
        float(np.mean(_cos(seq_ref.reshape(-1, 3), seq_cand.reshape(-1, 3))))
    )


def test_the_class_output_is_primary_even_after_a_box_output(tmp_path: Path) -> None:
    from shrinkwise.compression.data import Dataset

    model = detector_head(tmp_path / "det.onnx")
    x = RNG.standard_normal((50, 16)).astype(np.float32)
    sess = make_session(model)
    outs = run_outputs(sess, {"x": x})
    labels = outs["logits"].argmax(axis=1)
    labels[:5] = (labels[:5] + 1) % 5  # 90 % accuracy
    data = Dataset(inputs={"x": x}, labels=labels)
    scored = score_outputs(outs, outs, data, session_signature(sess))
    assert scored.primary == "logits"
    tasks = {q.output: q.task for q in scored.outputs}
    assert tasks == {"boxes": "regression", "logits": "classification"}
    headline = [m for m in scored.measurements("labelled", 50) if m.details.get("headline")]
    assert [(m.metric, m.value) for m in headline] == [("accuracy", pytest.approx(0.9))]
    # the user's declaration wins, and says so
    declared = score_outputs(
        outs, outs, data, session_signature(sess), IOSpec(outputs={"boxes": OutputSpec(task="ignore")})
    )
    boxes = next(q for q in declared.outputs if q.output == "boxes")
    assert boxes.task == "ignore" and boxes.declared and "declared" in boxes.reason


# --- inputs whose samples are not on axis 0 ----------------------------------------------------------------------


def test_state_on_axis_1_scalar_sr_and_state_output_gathered_on_its_own_axis(tmp_path: Path) -> None:
    model = stateful_vad(tmp_path / "vad.onnx")
    sess = make_session(model)
    sig = session_signature(sess)
    resolved = resolve_inputs(sig)
    assert (resolved["state"].kind, resolved["state"].batch_axis, resolved["state"].carried_from) == (
        "state",
        1,
        "stateN",
    )
    assert resolved["sr"].kind == "constant" and resolved["sr"].batch_axis is None
    assert "samples on axis 1" in resolved["state"].reason and "scalar" in resolved["sr"].reason

    n = 70  # more than one batch of 64, so outputs are concatenated
    x = RNG.standard_normal((n, 64)).astype(np.float32)
    state = RNG.standard_normal((2, n, 16)).astype(np.float32)
    np.savez(tmp_path / "d.npz", input=x, state=state, sr=np.array(16000))
    data = load_npz(tmp_path / "d.npz", sig)
    assert data.axes == {"input": 0, "state": 1, "sr": None} and len(data) == n
    sub = data.subset(np.array([3, 5, 68]))
    assert sub.inputs["state"].shape == (2, 3, 16) and np.array_equal(sub.inputs["state"], state[:, [3, 5, 68]])
    outs = run_outputs(sess, data)
    expected = sess.run(None, {"input": x, "state": state, "sr": np.array(16000)})
    assert np.allclose(outs["output"], expected[0], atol=1e-6)
    assert outs["stateN"].shape == (n, 2, 16)  # samples first, gathered along axis 1
    assert np.allclose(outs["stateN"], np.moveaxis(expected[1], 1, 0), atol=1e-6)
    scored = score_outputs(outs, outs, data, sig)
    assert {q.output: q.task for q in scored.outputs} == {"output": "binary", "stateN": "state"}
    assert scored.primary == "output"


def test_a_state_is_recognised_by_its_shape_and_name() -> None:
    from shrinkwise.compression.signature import InputSignature, TensorSpec

    sig = InputSignature(
        inputs=[
            TensorSpec(name="x", shape=["T", "N", 8], dtype="float32"),  # time-major: 'N' is what all inputs share
            TensorSpec(name="h0", shape=[1, "N", 16], dtype="float32"),  # no output returns it
            TensorSpec(name="mask", shape=[4, "N"], dtype="float32"),  # samples on axis 1, not a state
        ],
        outputs=[TensorSpec(name="y", shape=["N", 2], dtype="float32")],
    )
    r = resolve_inputs(sig)
    assert (r["x"].kind, r["x"].batch_axis) == ("batch", 1)
    assert "axis 'N', which every input has" in r["x"].reason
    assert (r["h0"].kind, r["h0"].batch_axis, r["h0"].carried_from) == ("state", 1, None)
    assert "named like a recurrent state" in r["h0"].reason
    assert (r["mask"].kind, r["mask"].batch_axis) == ("batch", 1)


def test_missing_state_is_zeros_and_a_missing_scalar_is_named(tmp_path: Path) -> None:
    sig = session_signature(make_session(stateful_vad(tmp_path / "vad.onnx")))
    np.savez(tmp_path / "d.npz", input=RNG.standard_normal((10, 64)).astype(np.float32), sr=np.array([8000]))
    data = load_npz(tmp_path / "d.npz", sig)
    assert data.inputs["state"].shape == (2, 10, 16) and not data.inputs["state"].any()
    assert data.inputs["sr"].shape == ()  # a (1,) array for a rank-0 input is fed as a scalar
    assert any("zero state" in n for n in data.notes)
    np.savez(tmp_path / "e.npz", input=RNG.standard_normal((10, 64)).astype(np.float32))
    with pytest.raises(DataError, match=r"no array for model input\(s\) \['sr'\].*sample rate"):
        load_npz(tmp_path / "e.npz", sig)


def test_the_npz_declares_its_spec_as_json_and_bad_json_is_one_line(tmp_path: Path) -> None:
    from shrinkwise.compression.signature import InputSignature, TensorSpec

    # A model whose state has no dynamic axis to infer from: the file says where the samples are.
    sig = InputSignature(
        inputs=[
            TensorSpec(name="x", shape=["N", 4], dtype="float32"),
            TensorSpec(name="h", shape=[1, 3, 8], dtype="float32"),
        ],
        outputs=[TensorSpec(name="y", shape=["N", 2], dtype="float32")],
    )
    spec = {"inputs": {"h": {"kind": "state", "batch_axis": 1}}, "outputs": {"y": {"task": "regression"}}}
    np.savez(
        tmp_path / "d.npz",
        x=np.zeros((3, 4), np.float32),
        h=np.zeros((1, 3, 8), np.float32),
        **{NPZ_SPEC_KEY: np.array(json.dumps(spec))},
    )
    data = load_npz(tmp_path / "d.npz", sig)
    assert data.axes["h"] == 1 and data.spec is not None and data.spec.outputs["y"].task == "regression"
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 4), np.float32), **{NPZ_SPEC_KEY: np.array("{not json")})
    with pytest.raises(DataError, match="shrinkwise_spec' is not a valid data spec") as err:
        load_npz(tmp_path / "bad.npz", sig)
    assert "\n" not in str(err.value)
    np.savez(
        tmp_path / "kind.npz",
        x=np.zeros((3, 4), np.float32),
        **{NPZ_SPEC_KEY: np.array('{"inputs": {"x": {"kind": "sideways"}}}')},
    )
    with pytest.raises(DataError, match="not a valid data spec"):
        load_npz(tmp_path / "kind.npz", sig)


def test_cli_declarations_parse_or_say_how() -> None:
    assert parse_input_decl("state=state:1") == ("state", InputSpec(kind="state", batch_axis=1))
    assert parse_input_decl("sr=constant") == ("sr", InputSpec(kind="constant"))
    assert parse_input_decl("h=state:1:from=hn") == ("h", InputSpec(kind="state", batch_axis=1, carried_from="hn"))
    assert parse_task_decl("prob=binary:0.7") == ("prob", OutputSpec(task="binary", threshold=0.7))
    assert parse_task_decl("emb=embedding") == ("emb", OutputSpec(task="embedding"))
    assert parse_task_decl("hn=state:axis=1") == ("hn", OutputSpec(task="state", batch_axis=1))
    for bad in ("state", "x=sideways", "x=batch:one"):
        with pytest.raises(ShrinkwiseError, match="--input"):
            parse_input_decl(bad)
    with pytest.raises(ShrinkwiseError, match="tasks: classification, binary"):
        parse_task_decl("y=colour")


def test_binary_and_embedding_models_are_inferred_from_their_outputs(tmp_path: Path) -> None:
    for build, name, task in ((binary_probability, "prob", "binary"), (embedding_encoder, "embedding", "embedding")):
        sess = make_session(build(tmp_path / f"{name}.onnx"))
        x = RNG.standard_normal((30, sess.get_inputs()[0].shape[1])).astype(np.float32)
        outs = run_outputs(sess, {"x": x})
        assert infer_task(name, outs[name]).task == task
