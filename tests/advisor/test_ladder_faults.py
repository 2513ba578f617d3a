"""Issue 11's advisor faults, one scenario each, asserting the fixed advice (not only that a rule fired).

Each test builds the facts a real project would give (merged over rules/example_base.yaml, the digits CNN on a
VNNI desktop) and checks what a newcomer would act on: the plan's technique and config, the feasibility numbers,
the questions, the post-run warnings. The advice is tied to the engine where it matters: the int8_dynamic `auto`
preset the advice relies on is read from the technique itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from shrinkwise.advisor.advice import Advice, PlanStep
from shrinkwise.advisor.engine import advise
from shrinkwise.advisor.examples import example_facts
from shrinkwise.advisor.hostcpu import detect_this_computer
from shrinkwise.advisor.rules import LoadedRule
from shrinkwise.compression.techniques.int8_dynamic import AUTO_OPS

INT8 = ("int8_dynamic", "int8_static", "mixed_precision")

# all-MiniLM-L6-v2 as the profile sees it: 22.7 M parameters, half of them in the word-embedding Gather.
MINILM: dict[str, Any] = {
    "name": "all-MiniLM-L6-v2",
    "size_mb": 90.9,
    "parameters": 22_700_000,
    "arch_family": "transformer",
    "input_kind": "text",
    "task": "embedding",
    "op_types": ["Gather", "MatMul", "Add", "LayerNormalization", "Softmax", "Erf", "Shape"],
    "op_count": 320,
    "macs": 1_400_000_000,
    "conv_param_share": 0.0,
    "matmul_param_share": 0.46,
    "embedding_param_share": 0.53,
    "activation_peak_mb": 1.0,
    "latency_ms": 12.0,
    "latency_source": "host",
    "accuracy": None,
    "largest_layers": [
        {"name": "embeddings.word_embeddings", "op_type": "Gather", "parameters": 11_720_448, "parameter_share": 0.52}
    ],
}
UNLABELLED = {"eval_labelled": False}
AUDIO_CNN: dict[str, Any] = {
    "name": "keyword-cnn",
    "arch_family": "cnn",
    "input_kind": "audio",
    "op_types": ["Conv", "Relu", "ReduceMean", "Shape", "Gather", "Reshape"],
    "conv_param_share": 1.0,
    "matmul_param_share": 0.0,
    "largest_layers": [{"name": "conv3", "op_type": "Conv", "parameters": 36928, "parameter_share": 0.6}],
}
LSTM: dict[str, Any] = {
    "name": "lstm-tagger",
    "arch_family": "rnn",
    "input_kind": "timeseries",
    "op_types": ["LSTM", "Gemm", "Squeeze"],
    "conv_param_share": 0.0,
    "matmul_param_share": 0.1,
    "largest_layers": [{"name": "lstm", "op_type": "LSTM", "parameters": 86016, "parameter_share": 0.9}],
}


def _advise(patch: dict[str, Any], manifest: dict[str, Any], rules: list[LoadedRule]) -> Advice:
    return advise(example_facts(patch), manifest, rules)


def _step(advice: Advice, technique: str, variant: str = "") -> PlanStep:
    steps = [s for s in advice.plan if s.technique == technique and s.variant == variant]
    assert steps, f"no {technique} {variant} step in {[(s.technique or s.activity, s.variant) for s in advice.plan]}"
    return steps[0]


def _first_int8_rung(advice: Advice) -> PlanStep:
    """The first plan step that quantizes to 8 bits; only fp16 (the free rung) may come before it."""
    keys = [s.technique or s.activity for s in advice.plan]
    first = next(i for i, s in enumerate(advice.plan) if s.technique in INT8)
    assert set(keys[:first]) <= {"fp16"}, keys
    return advice.plan[first]


def _look(advice: Advice, technique: str) -> Any:
    return next(o for o in advice.feasibility.outlooks if o.technique == technique)


def _fired(advice: Advice, rule_id: str, subject: str | None = None) -> list[Any]:
    return [
        s
        for s in (*advice.plan, *advice.warnings, *advice.blockers, *advice.questions)
        if s.rule_id == rule_id and (subject is None or s.subject == subject)
    ]


# --- before any run ----------------------------------------------------------------------------------------------


def test_transformer_config_quantizes_the_embeddings_per_channel_and_feasibility_promises_what_it_quantizes(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    advice = _advise({"model": MINILM, "data": UNLABELLED}, manifest, rules)
    step = _step(advice, "int8_dynamic")
    assert step.config["per_channel"] is True
    # `auto` with no explicit op list is what quantizes the embedding Gather (52 % of the weights) too.
    assert step.config["op_preset"] == "auto" and not step.config["op_types_to_quantize"]
    assert "Gather" in AUTO_OPS and "MatMul" in AUTO_OPS
    assert "embedding tables (Gather)" in step.what
    # The 4x it promises is for every weight at 8 bits, which is what that config does.
    assert _look(advice, "int8_dynamic").size_factor == pytest.approx(4.0)
    assert advice.feasibility.size_best_int8 == pytest.approx(4.0)


def test_no_static_int8_latency_estimate_contradicts_the_static_int8_hurts_transformers_warning(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    minilm = {**MINILM, "latency_ms": None, "latency_source": "none"}
    advice = _advise({"model": minilm, "data": UNLABELLED}, manifest, rules)
    assert _fired(advice, "static-int8-hurts-transformers")
    assert _look(advice, "int8_static").latency_ms is None
    assert advice.feasibility.best_post_training_technique == "int8_dynamic"
    text = " ".join(advice.estimates)
    assert "with int8_static" not in text and "No latency estimate for int8_static" in text
    latency_notes = [e for e in advice.estimates if " ms" in e]
    assert latency_notes and all("estimate" in e for e in latency_notes), advice.estimates
    assert "int8_static" not in {s.technique for s in advice.plan}
    # Without fast int8 math a rule warns that int8 activations may not speed things up: no estimate promises it.
    for target, slow in (("desktop-avx2", True), ("raspberry-pi-4", True), ("desktop-avx512-vnni", False)):
        cnn = _advise({"target_id": target, "model": {"latency_ms": None, "latency_source": "none"}}, manifest, rules)
        assert bool(_fired(cnn, "activations-slow-without-int8-math")) is slow
        look, fp16 = _look(cnn, "int8_static"), _look(cnn, "fp16")
        assert look.note.startswith("no int8 speed-up assumed") is slow, target
        assert look.latency_ms is not None and fp16.latency_ms is not None
        assert (look.latency_ms >= 0.9 * fp16.latency_ms) is slow, (target, look.latency_ms, fp16.latency_ms)


def test_an_unknown_weight_dtype_is_asked_for_first_instead_of_a_plan_of_only_profile(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    advice = _advise({"model": {"weight_dtype": "unknown"}}, manifest, rules)
    assert advice.questions and advice.questions[0].fact == "model.weight_dtype"
    assert set(advice.questions[0].choices) >= {"fp32", "fp16", "int8"}
    assert [s.activity for s in advice.plan] != ["profile_hot_spots"]


def test_other_unknown_facts_the_int8_choice_depends_on_are_asked_not_guessed(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    unknown = {"arch_family": "unknown", "conv_param_share": None, "matmul_param_share": None, "largest_layers": []}
    advice = _advise({"model": unknown}, manifest, rules)
    assert "model.arch_family" in {q.fact for q in advice.questions}
    assert not {"int8_static", "int8_dynamic"} & {s.technique for s in advice.plan}  # no int8 recipe guessed
    advice = _advise({"data": {"calibration_samples": None}}, manifest, rules)
    assert "data.calibration_samples" in {q.fact for q in advice.questions}


def test_the_size_is_parameters_times_dtype_when_no_file_size_is_known_and_candidates_are_judged_on_it(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    model = {**MINILM, "size_mb": None}
    asked = _advise({"model": model, "data": UNLABELLED}, manifest, rules)
    assert asked.feasibility.size_now_mb == pytest.approx(90.8) and asked.feasibility.size_now_source == "parameters"
    assert "Today it is 90.8 MB" in next(q.what for q in asked.questions if q.fact == "budget.size_mb")
    assert any("22,700,000 parameters x fp32" in e for e in asked.estimates)
    facts = {
        "model": model,
        "data": UNLABELLED,
        "budget": {"size_mb": 30.0, "accuracy_drop_pts": None, "min_cosine": 0.99},
        "results": {
            "candidates": [
                {"id": "q1", "techniques": ["int8_dynamic"], "size_ratio": 0.255, "cosine_mean": 0.994},
                {"id": "f1", "techniques": ["fp16"], "size_ratio": 0.5, "cosine_mean": 1.0},
            ]
        },
    }
    advice = _advise(facts, manifest, rules)
    assert advice.feasibility.size_gap == pytest.approx(90.8 / 30, rel=1e-3)
    assert advice.decision.candidate == "q1" and advice.decision.size_mb == pytest.approx(23.15, rel=1e-3)
    assert _fired(advice, "missed-size-budget-try-int8", "f1")


def test_with_no_target_set_no_technique_counts_as_unable_to_run(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    advice = _advise({"target_id": None, "budget": {"size_mb": 0.1}}, manifest, rules)
    assert advice.questions[0].fact == "target.id"
    for look in advice.feasibility.outlooks:
        assert look.runs_on_target is None and look.reason == "", look
    assert advice.feasibility.size_best_post_training >= 4.0
    assert advice.feasibility.size_reachable_post_training is True


def test_a_conv_only_model_never_gets_dynamic_int8_and_is_told_to_use_static_int8(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    assert "Conv" not in AUTO_OPS  # int8_dynamic's `auto` preset never makes ConvInteger
    for target in ("desktop-avx512-vnni", "desktop-avx2", "raspberry-pi-4", "phone-arm-dotprod"):
        advice = _advise({"target_id": target, "model": AUDIO_CNN}, manifest, rules)
        assert "int8_dynamic" not in {s.technique for s in advice.plan}, target
        assert _first_int8_rung(advice).technique == "int8_static", target
        warning = _fired(advice, "dynamic-int8-slows-convolutions")
        assert warning and "int8_static" in warning[0].do, target
        look = _look(advice, "int8_dynamic")
        assert look.runs_on_target is False and "Conv" in look.reason, target


def test_a_model_whose_only_other_op_is_a_gather_or_a_gru_gets_no_dynamic_int8_step_that_changes_nothing(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    # A CNN whose only non-Conv weight-free op is a shape Gather: dynamic int8 would quantize nothing.
    advice = _advise({"model": {**AUDIO_CNN, "op_types": ["Conv", "Relu", "Shape", "Gather"]}}, manifest, rules)
    assert "int8_dynamic" not in {s.technique for s in advice.plan}
    # A GRU model (ONNX Runtime has no dynamic GRU kernel) with a tiny Linear head: no int8_dynamic step either.
    gru = {
        "arch_family": "rnn",
        "op_types": ["GRU", "Gather", "Gemm"],
        "conv_param_share": 0.0,
        "matmul_param_share": 0.01,
        "largest_layers": [{"name": "gru", "op_type": "GRU", "parameters": 99000, "parameter_share": 0.99}],
    }
    advice = _advise({"model": gru}, manifest, rules)
    assert "int8_dynamic" not in {s.technique for s in advice.plan}
    assert _fired(advice, "gru-stays-float-with-dynamic-int8")
    look = _look(advice, "int8_dynamic")
    assert look.runs_on_target is False and "GRU" in look.reason


# --- after a run -------------------------------------------------------------------------------------------------

BASE_CANDIDATE = {"id": "c1", "techniques": ["int8_static"], "size_ratio": 0.28, "accuracy_drop_pts": 0.1}
MISSED = {
    "size": ({"size_mb": 0.05}, {}, "missed-size-budget-after-int8"),
    "latency": (
        {"latency_ms": 0.05},
        {"latency_ratio": 1.2, "latency_ms": 0.08, "latency_source": "host"},
        "missed-latency-budget",
    ),
    "memory": ({"peak_memory_mb": 1.0}, {"peak_memory_mb": 3.0}, "missed-memory-budget"),
    "accuracy": ({"accuracy_drop_pts": 0.5}, {"accuracy_drop_pts": 2.0}, "quality-over-tolerance"),
    "cosine": ({"min_cosine": 0.99}, {"cosine_mean": 0.95}, "fidelity-below-tolerance"),
    "disagreement": ({"max_disagreement_pct": 1.0}, {"agreement": 0.95}, "agreement-below-tolerance"),
    "subgroup": (
        {"accuracy_drop_pts": 1.0},
        {"max_subgroup_drop_pts": 4.0, "worst_subgroup": "class-7"},
        "hidden-subgroup-regression",
    ),
}


@pytest.mark.parametrize("budget_kind", sorted(MISSED))
def test_a_candidate_that_missed_a_budget_gets_a_rule_reacting_to_it_and_is_not_shipped(
    budget_kind: str, manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    budget, measured, rule_id = MISSED[budget_kind]
    facts = {
        "target_id": "this-computer",
        "budget": {"accuracy_drop_pts": 1.0, **budget},
        "results": {"candidates": [{**BASE_CANDIDATE, **measured}]},
    }
    advice = _advise(facts, manifest, rules)
    said = _fired(advice, rule_id, "c1")
    assert said, f"{budget_kind}: nothing reacts to the missed budget ({advice.rules_fired})"
    assert "unknown" not in said[0].what and "None" not in said[0].what
    assert not _fired(advice, "budget-met-stop-here")
    assert advice.decision.status in ("none_meets", "provisional") and advice.decision.candidate != "c1"


def test_stop_here_and_ship_never_sits_beside_a_subgroup_loss_warning(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    candidate = {**BASE_CANDIDATE, "accuracy_drop_pts": 0.2, "max_subgroup_drop_pts": 3.0, "worst_subgroup": "noisy"}
    advice = _advise({"budget": {"size_mb": 0.2}, "results": {"candidates": [candidate]}}, manifest, rules)
    warning = _fired(advice, "hidden-subgroup-regression", "c1")
    assert warning and "group 'noisy' lost 3.00 points" in warning[0].what
    assert "ship_candidate" not in {s.activity for s in advice.plan}
    # The same candidate without the subgroup loss is the one to ship.
    clean = {**BASE_CANDIDATE, "accuracy_drop_pts": 0.2}
    advice = _advise({"budget": {"size_mb": 0.2}, "results": {"candidates": [clean]}}, manifest, rules)
    assert advice.plan[0].activity == "ship_candidate"


# --- Arm CPUs ------------------------------------------------------------------------------------------------------


def test_arm_cpus_get_int8_advice_for_their_kernels_not_for_x86_vnni(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    # No dot-product (Raspberry Pi 4): static int8 at the full 8-bit range, and int8 is said to mostly save storage.
    pi = _advise({"target_id": "raspberry-pi-4"}, manifest, rules)
    rung = _first_int8_rung(pi)
    assert rung.technique == "int8_static" and rung.config["reduce_range"] is False
    kernels = _fired(pi, "int8-kernels-on-arm")
    assert kernels and "no int8 dot-product" in kernels[0].what and "reduce_range" in kernels[0].what
    # x86 without VNNI is where the 7-bit range belongs.
    avx2_advice = _advise({"target_id": "desktop-avx2"}, manifest, rules)
    avx2 = _first_int8_rung(avx2_advice)
    assert avx2.technique == "int8_static" and avx2.config["reduce_range"] is True
    assert _fired(avx2_advice, "int8-saturation-on-x86-without-vnni") and not _fired(avx2_advice, "int8-kernels-on-arm")
    assert not _fired(pi, "int8-saturation-on-x86-without-vnni")
    # Dot-product and i8mm: int8 kernels are fast; nothing on Arm uses the 7-bit range.
    for target in ("phone-arm-dotprod", "arm64-i8mm"):
        advice = _advise({"target_id": target}, manifest, rules)
        assert _fired(advice, "int8-static-where-int8-is-fast") and not _fired(
            advice, "activations-slow-without-int8-math"
        )
        assert "SDOT" in _fired(advice, "int8-kernels-on-arm")[0].what
        assert not any(s.config.get("reduce_range") for s in advice.plan), target


def test_this_computer_on_arm_is_detected_with_its_int8_instructions() -> None:
    cpuinfo = "processor : 0\nFeatures : fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp i8mm sve\n"
    arm = detect_this_computer(cpuinfo, machine="aarch64", cores=8, meminfo_text="MemTotal: 16000000 kB\n")
    assert arm.cpu_arch == "arm" and arm.int8_instructions == ["dotprod", "i8mm"] and arm.int8_accelerated
    assert "dot-product and i8mm" in arm.name and "VNNI" not in arm.name
    old = detect_this_computer("Features : fp asimd evtstrm crc32\n", machine="aarch64", cores=4)
    assert old.cpu_arch == "arm" and old.int8_instructions == [] and not old.int8_accelerated
    x86 = detect_this_computer("flags : fpu sse2 avx2 fma avx512f avx512_vnni\n", machine="x86_64", cores=8)
    assert x86.cpu_arch == "x86" and x86.int8_instructions == ["vnni"] and "AVX-512 VNNI" in x86.name


# --- the first int8 rung for each family, on x86 and Arm ---------------------------------------------------------

FAMILIES: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "cnn": ({}, "int8_static", {"quant_format": "QDQ"}),
    "audio-cnn": (AUDIO_CNN, "int8_static", {"quant_format": "QDQ"}),
    "lstm": (LSTM, "int8_dynamic", {"op_preset": "auto", "op_types_to_quantize": []}),
    "transformer": (MINILM, "int8_dynamic", {"op_preset": "auto", "op_types_to_quantize": [], "per_channel": True}),
}
TARGETS = ("desktop-avx512-vnni", "desktop-avx2", "phone-arm-dotprod", "raspberry-pi-4", "arm64-i8mm")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_first_int8_rung_suits_the_model_family_and_the_cpu(
    family: str, target: str, manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    model, technique, config = FAMILIES[family]
    advice = _advise({"target_id": target, "model": model}, manifest, rules)
    rung = _first_int8_rung(advice)
    assert rung.technique == technique, f"{family} on {target}: {rung.technique}"
    assert config.items() <= rung.config.items(), rung.config
    if technique == "int8_static":  # 7-bit weights only on x86 without VNNI
        assert rung.config.get("reduce_range", False) is (target == "desktop-avx2")
    if family == "lstm":
        assert "LSTM" in AUTO_OPS and "DynamicQuantizeLSTM" in rung.what
    assert advice.plan[0].technique == "fp16"  # the free rung first, everywhere


# --- 4-bit embedding tables ----------------------------------------------------------------------------------------


def test_a_transformer_whose_size_budget_needs_more_than_int8_gets_the_4bit_embeddings_rung(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    budget = {"size_mb": 90.9 / 5, "accuracy_drop_pts": None, "min_cosine": 0.99}  # >= 5x smaller
    advice = _advise({"model": MINILM, "data": UNLABELLED, "budget": budget}, manifest, rules)
    plain, four = _step(advice, "int8_dynamic"), _step(advice, "int8_dynamic", "embeddings-4bit")
    assert plain.position < four.position
    assert four.config["embedding_bits"] == 4 and four.config["per_channel"] is True
    assert "4 bits" in four.name and "estimate" in four.expected and "GatherBlockQuantized" in four.why
    assert advice.feasibility.size_embeddings_4bit == pytest.approx(1 / (0.53 / 8 + 0.47 / 4), rel=1e-3)
    assert any("4-bit embedding tables" in e and "estimate" in e for e in advice.estimates)
    # Not needed when int8 already meets the size budget.
    easy = _advise({"model": MINILM, "data": UNLABELLED, "budget": {**budget, "size_mb": 30.0}}, manifest, rules)
    assert not [s for s in easy.plan if s.variant == "embeddings-4bit"]


def test_after_int8_misses_the_size_budget_the_4bit_embeddings_step_is_next_and_its_own_run_marks_it_done(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    budget = {"size_mb": 90.9 / 5, "accuracy_drop_pts": None, "min_cosine": 0.99}
    plain = {"id": "q1", "techniques": ["int8_dynamic"], "size_ratio": 0.254, "cosine_mean": 0.994}
    plain["op_types"] = ["Gather", "DynamicQuantizeMatMul", "LayerNormalization"]
    facts = {"model": MINILM, "data": UNLABELLED, "budget": budget, "results": {"candidates": [plain]}}
    advice = _advise(facts, manifest, rules)
    missed = _fired(advice, "missed-size-budget-after-int8", "q1")
    assert missed and "embedding_bits=4" in missed[0].do
    assert _step(advice, "int8_dynamic").done_by == ["q1"]
    assert _step(advice, "int8_dynamic", "embeddings-4bit").done_by == []
    four = {**plain, "id": "q4", "size_ratio": 0.199, "cosine_mean": 0.992}
    four["op_types"] = ["GatherBlockQuantized", "DynamicQuantizeMatMul", "LayerNormalization"]
    facts["results"] = {"candidates": [plain, four]}
    advice = _advise(facts, manifest, rules)
    assert _step(advice, "int8_dynamic", "embeddings-4bit").done_by == ["q4"]
    assert advice.decision.candidate == "q4"


def test_encodings_that_leave_the_file_float_never_promise_a_smaller_file(
    manifest: dict[str, Any], rules: list[LoadedRule]
) -> None:
    """Palettes and sparse zeros shrink only an encoding: the ONNX file the runtime loads (what the decision judges)
    stays the same size, so their outlook says 1× for the file and names the encoding's ratio as an estimate."""
    advice = _advise({"target_id": "desktop-avx512-vnni", "budget": {"size_mb": 0.1}}, manifest, rules)
    looks = {o.technique: o for o in advice.feasibility.outlooks}
    for tid in ("palettize", "prune_unstructured"):
        assert looks[tid].size_factor == 1.0
        assert "compact encoding" in looks[tid].note and "estimate" in looks[tid].note
    assert looks["int8_static"].size_factor is not None and looks["int8_static"].size_factor > 3
