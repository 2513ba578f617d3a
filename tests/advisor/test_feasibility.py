"""Feasibility before any run: gaps against what each technique can give at best on the device."""

from __future__ import annotations

from typing import Any

import pytest

from shrinkwise.advisor.examples import example_facts
from shrinkwise.advisor.situation import build_situation


def _fz(manifest: dict[str, Any], patch: dict[str, Any]):  # type: ignore[no-untyped-def]
    return build_situation(example_facts(patch), manifest).feasibility


def test_int8_gives_at_most_4x_on_fp32_weights(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {"target_id": "phone-npu"})
    looks = {o.technique: o for o in fz.outlooks}
    assert looks["int8_static"].size_factor == pytest.approx(4.0)
    assert looks["fp16"].size_factor == pytest.approx(2.0)
    assert fz.size_best_post_training == pytest.approx(4.0)
    assert fz.size_best_low_bit == pytest.approx(4.0), "the NPU runs neither int4 nor palettes"
    assert not looks["int8_dynamic"].runs_on_target and "on the fly" in looks["int8_dynamic"].reason


def test_fp16_model_gains_less(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {"target_id": "phone-npu", "model": {"weight_dtype": "fp16"}})
    assert fz.size_best_post_training == pytest.approx(2.0)


def test_int4_weight_only_touches_only_matmul_weights(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {})
    int4 = next(o for o in fz.outlooks if o.technique == "int4_weight_only")
    assert int4.size_factor == pytest.approx(1 / (0.38 * 4 / 32 + 0.62), rel=1e-3)


def test_twelve_times_is_beyond_post_training(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {"target_id": "phone-arm-dotprod", "model": {"size_mb": 12.0}, "budget": {"size_mb": 1.0}})
    assert fz.size_gap == pytest.approx(12.0)
    assert fz.size_reachable_post_training is False and fz.size_reachable_low_bit is False
    assert fz.reachable_post_training is False and fz.binding_metric == "size"


def test_latency_elsewhere_is_an_estimate_and_here_a_measurement(manifest: dict[str, Any]) -> None:
    away = _fz(manifest, {"target_id": "raspberry-pi-4", "budget": {"latency_ms": 0.001}})
    assert away.latency_now_source == "estimate" and away.latency_now_ms and away.latency_now_ms > 0
    assert away.latency_reachable_post_training is False
    here = _fz(manifest, {"target_id": "this-computer", "budget": {"latency_ms": 5}})
    assert here.latency_now_source == "host" and here.latency_now_ms == pytest.approx(0.067)
    assert here.latency_reachable_post_training is True


def test_microcontroller_memory_is_a_wall(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {"target_id": "cortex-m-mcu", "model": {"size_mb": 2.0}})
    assert fz.fits_device_memory is False and fz.runs_as_is is False
    ok = _fz(manifest, {"target_id": "cortex-m-mcu"})
    assert ok.fits_device_memory is True and ok.fits_device_storage is True


def test_no_budget_means_no_gap(manifest: dict[str, Any]) -> None:
    fz = _fz(manifest, {})
    assert (
        fz.size_gap is None
        and fz.worst_gap is None
        and fz.binding_metric == "none"
        and fz.reachable_post_training is None
    )
