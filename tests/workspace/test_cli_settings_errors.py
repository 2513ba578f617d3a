"""A bad technique setting on the CLI is refused before any run is recorded: exit 2, one line naming the step, the
setting and what is allowed (never pydantic's multi-line report with its "For further information visit" link)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import main
from shrinkwise.workspace.project import load_project


def _refused(project: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Runs `argv`; asserts exit 2, a single error line, no pydantic text and nothing recorded; returns the line."""
    before = load_project(project).experiments
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("shrinkwise: error: "), err
    assert "pydantic" not in err and "For further information" not in err and "validation error" not in err
    after = load_project(project).experiments
    assert [e.id for e in after] == [e.id for e in before], "a refused setting must not become a (failed) run"
    assert not any(p.name.startswith("run-") for p in (project.parent / "digits-demo.artifacts").glob("runs/*"))
    return err.removeprefix("shrinkwise: error: ")


def test_a_setting_sent_to_the_wrong_step_names_both_steps(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(
        demo_project, ["recipe", str(demo_project), "prune_structured", "fp16", "--set", "2.keep_ratio=0.75"], capsys
    )
    assert err.startswith("step 2 (fp16): 'keep_ratio' is not a setting of fp16"), err
    assert "its settings: keep_io_types," in err and "max_finite_value" in err
    assert "'keep_ratio' is a setting of step 1 (prune_structured)" in err
    assert "version" not in err.split("its settings:")[1]  # schema plumbing is not offered as a setting


def test_a_value_out_of_range_names_the_step_setting_and_range(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(
        demo_project, ["recipe", str(demo_project), "prune_structured", "fp16", "--set", "1.keep_ratio=7"], capsys
    )
    assert err.startswith("step 1 (prune_structured): setting 'keep_ratio'"), err
    assert "(got 7)" in err and "'keep_ratio' takes a number from 0.05 to 0.95" in err


def test_run_a_misspelt_setting_suggests_the_right_one(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(demo_project, ["run", str(demo_project), "fp16", "--set", "keep_io_type=true"], capsys)
    assert err.startswith("fp16: 'keep_io_type' is not a setting of fp16 (did you mean 'keep_io_types'?)"), err


def test_a_choice_setting_lists_its_choices(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(demo_project, ["run", str(demo_project), "prune_structured", "--set", "target=flops"], capsys)
    assert "setting 'target'" in err and "takes one of: macs, params" in err


def test_sweep_and_sensitivity_refuse_the_same_way(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(demo_project, ["sweep", str(demo_project), "fp16", "--over", "max_finite_value=0.5,100"], capsys)
    assert err.startswith("fp16: setting 'max_finite_value'") and "from 1 to 65504" in err
    err = _refused(demo_project, ["sensitivity", str(demo_project), "--set", "per_chanel=true"], capsys)
    assert "'per_chanel' is not a setting of int8_static (did you mean 'per_channel'?)" in err


def test_json_gives_the_error_and_the_fix_as_fields(demo_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--json", "recipe", str(demo_project), "prune_structured", "fp16", "--set", "2.keep_ratio=0.75"]
    assert main(argv) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["error"] == "step 2 (fp16): 'keep_ratio' is not a setting of fp16"
    assert payload["fix"].startswith("its settings: keep_io_types")
