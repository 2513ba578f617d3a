"""The conventions every command shares: -V, --json (errors too), -q/-v, help on every argument, quiet pipes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shrinkwise.workspace.cli import build_parser, main
from tests.compression.test_worker import demo_copy

ROOT = Path(__file__).parents[2]


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    return str(demo_copy(tmp_path_factory, tmp_path))


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_version_short_and_long(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("-V", "--version"):
        with pytest.raises(SystemExit) as exit_info:
            main([flag])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith("shrinkwise ")


def test_every_argument_of_every_command_has_help_and_the_shared_flags() -> None:
    commands = _subcommands()
    assert {"run", "sweep", "recipe", "sensitivity", "measure", "new", "demo", "results", "report"} <= set(commands)
    for name, p in commands.items():
        flags = {f for a in p._actions for f in a.option_strings}
        assert {"--json", "-q", "--quiet", "-v", "--verbose"} <= flags, name
        for action in p._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"'shrinkwise {name}': {action.dest} has no help"


def test_run_help_lists_the_techniques_from_the_manifest() -> None:
    from shrinkwise.compression.catalog import technique_ids

    run = _subcommands()["run"]
    text = next(a.help for a in run._actions if a.dest == "technique")
    assert text and all(t in text for t in technique_ids())


def test_demo_out_defaults_to_the_user_data_folder() -> None:
    import platformdirs

    from shrinkwise.workspace.cli.commands_project import default_demo_dir

    args = build_parser().parse_args(["demo"])
    assert args.out is None  # the default depends on --speech: each demo has its own folder
    assert default_demo_dir("demo") == Path(platformdirs.user_data_dir("shrinkwise")) / "demo"
    assert default_demo_dir("speech-demo") == Path(platformdirs.user_data_dir("shrinkwise")) / "speech-demo"


@pytest.mark.parametrize("argv", [["show", "MISSING", "--json"], ["--json", "show", "MISSING"]])
def test_errors_as_json_on_stdout_exit_2(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tmp_path / "nope") if a == "MISSING" else a for a in argv]
    assert main(argv) == 2
    out = capsys.readouterr()
    payload = json.loads(out.out)
    assert payload["error"] == "no such project file"
    assert payload["file"].endswith("nope.shrinkwise.json") and "shrinkwise new" in payload["fix"]
    assert out.err == ""


def test_usage_errors_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--json"])
    assert exit_info.value.code == 2
    payload = json.loads(capsys.readouterr().out)
    assert "required" in payload["error"] and payload["fix"] == "see 'shrinkwise run --help'"


def test_quiet_and_verbose_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "techniques", "-v"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_run_and_sweep_json_and_quiet(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", project, "fp16", "--json"]) == 0
    captured = capsys.readouterr()
    exp = json.loads(captured.out)
    assert exp["status"] == "finished" and exp["recipe"][0]["technique"] == "fp16"
    assert "%" in captured.err  # progress goes to stderr, never into the JSON
    # The ladder needs no technique positional; -q silences progress.
    assert main(["sweep", project, "--over", "technique=fp16,int8_dynamic", "--json", "-q"]) == 0
    captured = capsys.readouterr()
    assert [e["label"] for e in json.loads(captured.out)] == ["fp16", "int8_dynamic"]
    assert captured.err == ""


def test_sweep_of_a_setting_needs_its_technique(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", project, "--over", "calibration_samples=8,16"]) == 2
    assert "needs the technique" in capsys.readouterr().err


def test_sensitivity_tolerance_in_points_and_the_old_fraction(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensitivity", project, "--accuracy-drop-pts", "0.5", "--technique", "int8_dynamic", "--json"]) == 0
    exp = json.loads(capsys.readouterr().out)
    assert exp["extra"]["tolerance"] == pytest.approx(0.005) and exp["label"].endswith("tolerance 0.5 pts)")
    assert main(["sensitivity", project, "--tolerance", "0.02", "--technique", "int8_dynamic", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["extra"]["tolerance"] == pytest.approx(0.02)
    assert "deprecated; use --accuracy-drop-pts 2" in captured.err


def test_measure_and_new_json(project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", project, "--json"]) == 0
    metrics = {m["metric"] for m in json.loads(capsys.readouterr().out)["measurements"]}
    assert {"size_bytes", "latency_ms_median", "accuracy"} <= metrics
    assert main(["new", str(tmp_path / "fresh"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["project"].endswith("fresh.shrinkwise.json")


def test_tables_print_cells_as_written(project: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", project]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("latency_ms_median"))
    assert row.endswith("[host]")  # not eaten as rich markup
    assert all(line == line.rstrip() for line in lines)


def test_no_broken_pipe_traceback_when_the_reader_leaves() -> None:
    # 'rules --json' writes ~200 KB, more than a pipe holds: the writer meets a closed pipe.
    proc = subprocess.Popen(
        [sys.executable, "-m", "shrinkwise.workspace.cli", "rules", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (141, -13)  # our exit code, or SIGPIPE itself


def test_gui_names_the_missing_xcb_libraries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shrinkwise.gui import app

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(app, "_loadable", lambda soname: soname == "libxcb-cursor.so.0")
    assert main(["gui"]) == 2  # refused before Qt starts
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "apt-get install -y libxcb-icccm4 libxcb-keysyms1" in err
    assert "libxcb-cursor0" not in err  # Qt's own message would blame this one
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    app.check_xcb_libraries()  # another platform plugin: nothing to check
