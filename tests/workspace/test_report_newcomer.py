"""The report as a newcomer reads it (issue 14): each warning said once however many candidates it concerns, no
identifier broken mid-word, sizes in one unit family (decimal kB/MB), budget and target in words, statuses in
words (`interrupted` included), and recreate commands that give back the recipe when the CLI parses them (and, for
one candidate, when it runs them)."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shrinkwise.workspace.cli import build_parser, main
from shrinkwise.workspace.cli.commands_runs import parse_set
from shrinkwise.workspace.project import Experiment, RecipeStep
from shrinkwise.workspace.report import build_report, render
from shrinkwise.workspace.report.model import recreate_command
from shrinkwise.workspace.session import Session


@pytest.fixture(scope="module")
def three_candidates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo on a phone NPU with three candidates (each measured only here) and a sensitivity analysis."""
    from shrinkwise.workspace.demo import DEMO_NAME, build_demo
    from shrinkwise.workspace.runs import run_recipe, sensitivity

    folder = tmp_path_factory.mktemp("report-newcomer")
    session = build_demo(folder)
    session.set_target("phone-npu")
    session.set_budget(size_mb=0.2, latency_ms=1.0, accuracy_drop_pts=1.0)
    session.save()
    for technique in ("fp16", "int8_static", "int4_weight_only"):
        run_recipe(session, [technique], label=technique)
    sensitivity(session, 0.005, config={"per_channel": True})  # a setting the recreate command must carry
    session.save()
    return folder / f"{DEMO_NAME}.shrinkwise.json"


def _html(path: Path) -> str:
    return render(build_report(Session.open(path), compute=False), "html").decode("utf-8")


def _text(html_text: str) -> str:
    t = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", html_text, flags=re.S).replace("<wbr>", "")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t))


def test_a_warning_about_several_candidates_is_said_once(three_candidates: Path) -> None:
    report = build_report(Session.open(three_candidates), compute=False)
    warned = [w.rule_id for w in report.advice.warnings + report.advice.blockers]
    assert warned and not [r for r, n in Counter(warned).items() if n > 1]
    host = next(w for w in report.advice.warnings if w.rule_id == "host-latency-is-not-device-latency")
    assert set(host.about) == {"fp16", "int8_static", "int4_weight_only"}  # one item naming all three
    assert "each candidate" in host.what.lower()
    about_rows = Counter((w.origin, w.message) for w in report.warnings)
    assert all(n == 1 for n in about_rows.values())
    page = _text(_html(three_candidates))
    assert page.count("Measured here, not on the device") == 2  # once in the plan's warnings, once in the table


def test_identifiers_break_only_at_their_separators(three_candidates: Path) -> None:
    html_text = _html(three_candidates)
    css = html_text[html_text.index("<style>") : html_text.index("</style>")]
    assert "break-all" not in css and "anywhere" not in css
    codes = re.findall(r"<code>(.*?)</code>", html_text, flags=re.S)
    assert codes
    for code in codes:
        for m in re.finditer("<wbr>", code):
            assert code[m.start() - 1] in "_./,:-", code  # a break opportunity only after a separator
    layer = "/classifier/classifier.3/Gemm"
    assert layer.replace("/", "/<wbr>").replace(".", ".<wbr>") in html_text


def test_sizes_use_one_unit_family_everywhere(three_candidates: Path) -> None:
    session = Session.open(three_candidates)
    report = build_report(session, compute=False)
    for fmt in ("html", "md"):
        out = render(report, fmt)
        text = out.decode("utf-8") if isinstance(out, bytes) else out
        assert not re.search(r"\b(KiB|MiB|GiB)\b", text), fmt
    checks = {c.key: c for c in report.verdict.checks}
    size = checks["size_mb"]
    assert size.limit_text == "≤ 200 kB" and re.fullmatch(r"\d+(\.\d+)? kB", size.value_text)
    assert re.fullmatch(r"[\d.]+ kB (headroom|over) \([+-]\d+ % of the budget\)", size.margin_text)
    assert "kB" in report.plots[0].x_label
    budget = {kv.key: kv for kv in report.budget}
    assert budget["size_mb"].label == "File size" and budget["size_mb"].value == "≤ 200 kB"
    assert budget["accuracy_drop_pts"].label == "Accuracy drop"
    page = _text(_html(three_candidates))
    for key in ("accuracy_drop_pts", "size_mb", "latency_ms"):
        assert f" {key} " not in page  # the budget table shows words (the JSON keeps the keys)


def _reparse(command: str) -> Any:
    argv = shlex.split(command)
    assert argv[0] == "shrinkwise"
    return build_parser().parse_args(argv[1:])


def _recipe_of(args: Any) -> list[tuple[str, dict[str, Any]]]:
    """The recipe the CLI would run for parsed `run` / `recipe` arguments (as cmd_run / cmd_recipe build it)."""
    sets = parse_set(args.set)
    if args.command == "run":
        return [(args.technique, sets)]
    configs: list[dict[str, Any]] = [{} for _ in args.steps]
    for key, value in sets.items():
        step, _, name = key.partition(".")
        configs[int(step) - 1][name] = value
    return list(zip(args.steps, configs, strict=True))


def _expected(exp: Experiment) -> list[tuple[str, dict[str, Any]]]:
    return [(s.technique, {k: v for k, v in s.config.items() if k not in ("technique", "version")}) for s in exp.recipe]


def test_recreate_commands_give_back_every_option(three_candidates: Path) -> None:
    session = Session.open(three_candidates)
    report = build_report(session, compute=False)
    commands = {kv.key: kv.value for kv in report.reproducibility.commands}
    exps = {e.id: e for e in session.project.experiments}
    assert set(commands) == {e.id for e in session.project.experiments if e.status == "finished"} | {"original"}
    for exp_id, command in commands.items():
        args = _reparse(command)
        assert Path(args.project).name == session.path.name
        if exp_id == "original":
            assert args.command == "measure"
            continue
        exp = exps[exp_id]
        if exp.kind == "sensitivity":
            assert args.command == "sensitivity"
            assert args.accuracy_drop_pts / 100 == pytest.approx(exp.extra["tolerance"])
            assert args.technique == exp.extra["technique"]
            kept = {k: v for k, v in exp.extra["proposal"]["config"].items() if k != "nodes_to_exclude"}
            assert parse_set(args.set) == kept
        else:
            assert _recipe_of(args) == _expected(exp), command
    # Several steps, odd values: `recipe` with numbered settings, JSON types kept.
    two = Experiment(
        id="run-00000001",
        kind="run",
        status="finished",
        recipe=[
            RecipeStep(technique="prune_unstructured", config={"target_sparsity": 0.5, "scope": "global"}),
            RecipeStep(
                technique="int8_static",
                config={"nodes_to_exclude": ["/a b/Conv", "it's"], "per_channel": True, "calibration_samples": 64},
            ),
        ],
    )
    args = _reparse(recreate_command("my project.shrinkwise.json", two))
    assert args.command == "recipe" and str(args.project) == "my project.shrinkwise.json"
    assert _recipe_of(args) == _expected(two)


def test_the_printed_command_recreates_the_candidate(
    three_candidates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(three_candidates.parent, folder)
    path = folder / three_candidates.name
    session = Session.open(path)
    exp = next(e for e in session.project.experiments if e.label == "int8_static")
    command = recreate_command(path.name, exp)
    monkeypatch.chdir(folder)
    assert main([*shlex.split(command)[1:], "-q"]) == 0
    again = [
        e
        for e in Session.open(path).project.experiments
        if e.kind == "run" and e.id not in {x.id for x in session.project.experiments}
    ]
    assert len(again) == 1
    assert [(s.technique, s.config) for s in again[0].recipe] == [(s.technique, s.config) for s in exp.recipe]


def test_statuses_are_words_including_interrupted(three_candidates: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(three_candidates.parent, folder)
    session = Session.open(folder / three_candidates.name)
    session.project.experiments.append(
        Experiment(
            id="run-0000dead",
            label="killed one",
            kind="run",
            status="interrupted",
            recipe=[RecipeStep(technique="fp16")],
        )
    )
    session.save()
    report = build_report(Session.open(session.path), compute=False)
    row = next(w for w in report.warnings if w.ref == "killed one")
    assert "interrupted" in row.message and "run it again" in row.message
    html_text = _html(session.path)
    assert 'class="status-interrupted">Interrupted<' in html_text
    assert ".status-interrupted" in html_text  # it has a colour
    assert re.search(r"<details open>\s*<summary><b>killed one</b>", html_text)
