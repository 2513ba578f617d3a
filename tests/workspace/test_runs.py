"""Session-level runs: persisted at once, failures recorded without losing earlier results, sweeps, sensitivity, Pareto."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from shrinkwise.compression.runner import Run
from shrinkwise.compression.worker import TEST_SLEEP_ENV
from shrinkwise.workspace.figures import pareto_front
from shrinkwise.workspace.hashing import sha256_file
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.runs import (
    latest_sensitivity,
    prepare_job,
    results,
    run_recipe,
    sensitivity,
    sweep,
)
from shrinkwise.workspace.session import Session
from tests.compression.test_worker import demo_copy


@pytest.fixture
def session(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Session:
    return Session.open(demo_copy(tmp_path_factory, tmp_path))


def metric(exp, name: str) -> float:  # type: ignore[no-untyped-def]
    m = exp.measurement(name)
    assert m is not None, name
    return m.value


def test_fp16_run_is_persisted_with_real_measurements(session: Session) -> None:
    exp = run_recipe(session, ["fp16"])
    assert exp.status == "finished", exp.error
    saved = load_project(session.path).experiment(exp.id)  # what is on disk, not in memory
    base = load_project(session.path).baseline
    assert saved.status == "finished" and saved.finished
    ratio = metric(saved, "size_bytes") / metric(base, "size_bytes")
    assert 0.45 < ratio < 0.55
    assert abs(metric(saved, "accuracy") - metric(base, "accuracy")) <= 0.01
    assert metric(saved, "latency_ms_median") > 0
    art = saved.final_artifact
    assert art is not None and art.sha256 == sha256_file(session.resolve(art.path))
    assert art.lineage.recipe[0].technique == "fp16"
    assert saved.quality is not None and saved.quality.per_class_accuracy
    assert saved.extra["steps"][0]["technique"] == "fp16"


def test_bad_setting_is_refused_before_it_is_recorded_and_keeps_earlier_results(session: Session) -> None:
    from shrinkwise.compression.errors import TechniqueError

    good = run_recipe(session, ["fp16"])
    before = len(load_project(session.path).experiments)
    with pytest.raises(TechniqueError) as err:
        run_recipe(session, [("fp16", {"no_such_key": 3})])
    assert "no_such_key" in str(err.value) and "\n" not in str(err.value)
    project = load_project(session.path)
    assert len(project.experiments) == before  # a typo is not a failed run
    kept = project.experiment(good.id)
    assert kept.status == "finished" and kept.measurements == good.measurements


def test_sigkill_mid_run_leaves_a_valid_project(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    good = run_recipe(session, ["fp16"])
    monkeypatch.setenv(TEST_SLEEP_ENV, "30")
    seen: dict[str, str] = {}

    def on_start(run: Run) -> None:
        seen["status_on_disk"] = load_project(session.path).experiments[-1].status

        def kill() -> None:
            while run.proc is None:
                time.sleep(0.02)
            time.sleep(1.0)
            os.kill(run.proc.pid, signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()

    exp = run_recipe(session, ["int8_dynamic"], on_start=on_start)
    assert seen["status_on_disk"] == "running"  # recorded before the worker started
    project = load_project(session.path)  # still valid JSON, validated
    assert project.experiment(exp.id).status == "failed"
    assert "SIGKILL" in (project.experiment(exp.id).error or "")
    assert project.experiment(good.id).status == "finished"


def test_cancel_is_recorded_within_two_seconds(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_SLEEP_ENV, "30")
    t: dict[str, float] = {}

    def on_event(ev) -> None:  # type: ignore[no-untyped-def]
        if getattr(ev, "message", "") == "test hook: waiting" and "cancel" not in t:
            t["cancel"] = time.monotonic()
            holder["run"].cancel()

    holder: dict[str, Run] = {}
    exp = run_recipe(session, ["fp16"], on_event=on_event, on_start=lambda run: holder.__setitem__("run", run))
    assert time.monotonic() - t["cancel"] < 2.0
    assert load_project(session.path).experiment(exp.id).status == "cancelled"


def test_ctrl_c_records_cancelled_and_reraises(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_SLEEP_ENV, "30")

    def on_event(ev) -> None:  # type: ignore[no-untyped-def]
        if getattr(ev, "message", "") == "test hook: waiting":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_recipe(session, ["fp16"], on_event=on_event)
    assert load_project(session.path).experiments[-1].status == "cancelled"


def test_sweep_one_experiment_per_value(session: Session) -> None:
    exps = sweep(session, "fp16", "max_finite_value", [1000.0, 10000.0])
    assert len(exps) == 2 and all(e.status == "finished" for e in exps)
    assert len({e.group for e in exps}) == 1 and exps[0].group
    assert [e.recipe[0].config["max_finite_value"] for e in exps] == [1000.0, 10000.0]
    ladder = sweep(session, "", "technique", ["fp16", "int8_dynamic"])
    assert [e.recipe[0].technique for e in ladder] == ["fp16", "int8_dynamic"]
    rows = results(session)
    assert rows[0].original and len(rows) == 5
    assert any(r.pareto_size for r in rows)


def test_sensitivity_ranks_layers_and_feeds_mixed_precision(session: Session) -> None:
    exp = sensitivity(session, tolerance=0.01, technique="int8_dynamic")
    assert exp.status == "finished", exp.error
    ranking = exp.extra["ranking"]
    assert len(ranking) == 5  # 3 Conv + 2 Gemm in the digits CNN
    assert set(exp.extra["sensitivity"]) == {r["node"] for r in ranking}
    assert exp.extra["proposal"]["meets_tolerance"]
    assert load_project(session.path).experiment(exp.id).kind == "sensitivity"
    assert latest_sensitivity(session) == exp.extra["sensitivity"]
    from shrinkwise.workspace.project import RecipeStep

    job = prepare_job(session, [RecipeStep(technique="fp16")], session.artifacts / "tmp-job")
    assert job.sensitivity == exp.extra["sensitivity"]


def test_pareto_front_on_constructed_points() -> None:
    # (cost, quality): lower cost better, higher quality better
    points = [(100, 0.99), (50, 0.99), (50, 0.98), (25, 0.90), (30, 0.90), (None, 1.0), (200, 0.995)]
    assert pareto_front(points) == [False, True, False, True, False, False, True]
    assert pareto_front([(1, 1), (1, 1)]) == [True, True]  # equal points do not dominate each other


def test_sensitivity_measures_int8_dynamic_variants_unfused(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    # int8_dynamic fuses transformer attention by default; the per-layer variants name the unfused graph's layers
    import shrinkwise.workspace.runs as runs

    seen: list[list[dict[str, object]]] = []

    class Stop(Exception):
        pass

    def capture(session, variants, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append([v.config for v in variants])
        raise Stop

    monkeypatch.setattr(runs, "_run_variants", capture)
    with pytest.raises(Stop):
        sensitivity(session, tolerance=0.01, technique="int8_dynamic", config={"per_channel": True})
    assert seen and all(c["fuse_attention"] == "off" and c["per_channel"] is True for c in seen[0])


def test_sensitivity_unmeetable_tolerance_says_so(session: Session) -> None:
    exp = sensitivity(session, tolerance=-1.0, technique="int8_dynamic")  # nothing can be better than the original
    proposal = exp.extra["proposal"]
    assert exp.status == "finished" and not proposal["meets_tolerance"] and "note" in proposal
    assert len(exp.extra["curve"]) == 5  # 0..4 layers kept in float, each measured
    assert exp.recipe[0].config["nodes_to_exclude"] == proposal["keep_float"]
