"""Facts from a saved project (the demo-like digits CNN), and the advice on it, through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.errors import AdvisorError
from shrinkwise.compression.data import DataHealth
from shrinkwise.compression.measure.records import Measurement
from shrinkwise.compression.profile_types import LayerProfile, ModelProfile
from shrinkwise.compression.signature import InputSignature, TensorSpec
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.facts import advise_project, build_facts
from shrinkwise.workspace.project import (
    DataRef,
    Experiment,
    ModelRef,
    Project,
    QualityDetails,
    RecipeStep,
    artifacts_dir,
    save_project,
)

ONNX_SHA = "b" * 64


def _profile() -> ModelProfile:
    layers = [
        LayerProfile(
            name="conv1", op_type="Conv", parameters=320, weight_bytes=1280, macs=18432, output_bytes=8192, time_us=1.0
        ),
        LayerProfile(name="relu1", op_type="Relu", output_bytes=8192, time_us=0.2),
        LayerProfile(
            name="conv2",
            op_type="Conv",
            parameters=18496,
            weight_bytes=73984,
            macs=294912,
            output_bytes=4096,
            time_us=2.0,
        ),
        LayerProfile(
            name="conv3",
            op_type="Conv",
            parameters=36928,
            weight_bytes=147712,
            macs=147456,
            output_bytes=1024,
            time_us=3.0,
        ),
        LayerProfile(
            name="fc1", op_type="Gemm", parameters=32896, weight_bytes=131584, macs=32768, output_bytes=512, time_us=0.7
        ),
        LayerProfile(
            name="fc2", op_type="Gemm", parameters=1290, weight_bytes=5160, macs=1280, output_bytes=40, time_us=0.4
        ),
    ]
    return ModelProfile(
        file_bytes=362191,
        parameters=89930,
        weight_bytes_by_dtype={"float32": 359720},
        op_count=12,
        opset=17,
        ir_version=8,
        layers=layers,
        op_histogram={"Conv": 3, "Relu": 4, "MaxPool": 2, "Flatten": 1, "Gemm": 2},
        total_macs=494848,
    )


def _m(metric: str, value: float, source: str = "host") -> Measurement:
    return Measurement(metric=metric, value=value, source=source)  # type: ignore[arg-type]


def _project(target: str = "phone-npu", **extra: Any) -> Project:
    health = DataHealth(samples=540, has_labels=True, has_groups=True, class_counts={str(i): 54 for i in range(10)})
    base = Experiment(
        id="original",
        kind="baseline",
        status="finished",
        measurements=[
            _m("size_bytes", 362191),
            _m("latency_ms_median", 0.067),
            _m("accuracy", 0.9944),
            _m("peak_memory_mb", 11.7),
        ],
        quality=QualityDetails(per_subgroup_accuracy={"light": 0.99, "medium": 1.0, "heavy": 0.99}),
    )
    return Project(
        name="Digits demo",
        model=ModelRef(
            path="model/digits_cnn.pt",
            sha256="a" * 64,
            format="state_dict",
            signature=InputSignature(inputs=[TensorSpec(name="x", shape=["batch", 1, 8, 8], dtype="float32")]),
            architecture="model/arch.py:DigitsCNN",
            onnx_path="model.onnx",
            onnx_sha256=ONNX_SHA,
        ),
        data=[
            DataRef(path="data/train.npz", sha256="c" * 64, kind="npz", role="training", samples=1257, health=health),
            DataRef(path="data/eval.npz", sha256="d" * 64, kind="npz", role="evaluation", samples=540, health=health),
        ],
        target={"id": target},
        budget={"accuracy_drop_pts": 1.0},
        experiments=[base],
        **extra,
    )


def _save(tmp_path: Path, project: Project, onnx_sha: str = ONNX_SHA) -> Path:
    path = save_project(project, tmp_path / "digits-demo.shrinkwise.json")
    folder = artifacts_dir(path)
    folder.mkdir(exist_ok=True)
    (folder / "profile.json").write_text(json.dumps({"onnx_sha256": onnx_sha, "profile": _profile().model_dump()}))
    return path


def test_facts_from_the_demo_like_project(tmp_path: Path) -> None:
    path = _save(tmp_path, _project())
    facts = build_facts(_project(), path)
    m, d = facts.model, facts.data
    assert (m.weight_dtype, m.arch_family, m.input_kind, m.task) == ("fp32", "cnn", "image", "classification")
    assert m.parameters == 89930 and m.size_mb == pytest.approx(0.362, abs=1e-3)
    assert m.conv_param_share == pytest.approx(0.62, abs=0.01) and m.matmul_param_share == pytest.approx(0.38, abs=0.01)
    assert [l.name for l in m.largest_layers][:2] == ["conv3", "fc1"] and m.profile_stale is False
    assert m.latency_ms == pytest.approx(0.067) and m.latency_source == "host" and m.accuracy == pytest.approx(0.9944)
    assert d.has_eval_set and d.eval_labelled and d.has_subgroup_labels and d.classes_imbalanced is False
    assert d.calibration_samples == 100 and d.has_training_data and d.torch_model_available
    assert facts.target_id == "phone-npu" and facts.budget.accuracy_drop_pts == 1.0 and facts.budget.size_mb is None


def test_demo_on_phone_npu_plans_safe_steps_first(tmp_path: Path, manifest: dict[str, Any]) -> None:
    project = _project()
    advice = advise_project(project, _save(tmp_path, project))
    keys = [s.technique or s.activity for s in advice.plan]
    assert keys[:2] == ["fp16", "int8_static"]
    training = [i for i, s in enumerate(advice.plan) if s.needs_training]
    assert all(i > 1 for i in training), "nothing that needs training comes before fp16 and int8"
    assert "unstructured-pruning-no-speedup-here" in {w.rule_id for w in advice.warnings}
    assert {"budget.size_mb", "budget.latency_ms", "budget.peak_memory_mb"} <= {q.fact for q in advice.questions}
    assert "budget.accuracy_drop_pts" not in {q.fact for q in advice.questions}


def test_candidates_from_experiments_are_interpreted(tmp_path: Path, manifest: dict[str, Any]) -> None:
    run = Experiment(
        id="run-1",
        label="dynamic int8",
        kind="run",
        status="finished",
        recipe=[RecipeStep(technique="int8_dynamic")],
        measurements=[
            _m("size_bytes", 100700),
            _m("latency_ms_median", 0.29),
            _m("latency_ratio", 4.4),
            _m("accuracy", 0.9944),
            _m("top1_agreement", 1.0),
        ],
        quality=QualityDetails(per_subgroup_accuracy={"light": 0.95, "medium": 1.0, "heavy": 0.99}),
    )
    project = _project(target="this-computer")
    project.experiments.append(run)
    facts = build_facts(project, _save(tmp_path, project))
    c = facts.results.candidates[0]
    assert (
        c.techniques == ["int8_dynamic"] and c.latency_ratio == 4.4 and c.size_ratio == pytest.approx(0.278, abs=1e-3)
    )
    assert (
        c.accuracy_drop_pts == pytest.approx(0.0)
        and c.worst_subgroup == "light"
        and c.max_subgroup_drop_pts == pytest.approx(4.0)
    )
    advice = advise(facts, manifest)
    fired = {(w.rule_id, w.subject) for w in advice.warnings}
    assert ("dynamic-int8-conv-was-slow", "run-1") in fired
    assert ("hidden-subgroup-regression", "run-1") in fired


def test_stale_profile_and_answers(tmp_path: Path) -> None:
    project = _project(answers={"data.has_training_data": False, "budget.latency_ms": 5, "stage": "pre_ship"})
    facts = build_facts(project, _save(tmp_path, project, onnx_sha="e" * 64))
    assert facts.model.profile_stale is True
    assert facts.data.has_training_data is False and facts.budget.latency_ms == 5 and facts.stage == "pre_ship"
    bad = _project(answers={"budget.latency_ms": "soon"})
    with pytest.raises(AdvisorError, match=r"field 'budget.latency_ms'"):
        build_facts(bad, _save(tmp_path, bad))


def test_project_without_profile_or_data_asks(tmp_path: Path, manifest: dict[str, Any]) -> None:
    project = Project(name="empty")
    path = save_project(project, tmp_path / "empty.shrinkwise.json")
    advice = advise(build_facts(project, path), manifest)
    assert advice.questions[0].fact == "target.id"
    assert "profile_hot_spots" in [s.activity for s in advice.plan]


def test_cli_advise_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _save(tmp_path, _project())
    assert main(["advise", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1. Float16 weights" in out and "2. Int8 weights and activations" in out
    assert main(["advise", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan"][0]["technique"] == "fp16" and data["plan"][0]["sources"]
