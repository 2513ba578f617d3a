"""The report in every format, for the demo project after a sweep: sections, escaping, determinism, schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shrinkwise.workspace.report import FORMATS, build_report, render, report_schema, write_report
from shrinkwise.workspace.report.model import ReportData
from shrinkwise.workspace.report.renderers import SECTIONS
from shrinkwise.workspace.session import Session
from tests.workspace.test_report_fixtures import swept_project  # noqa: F401  (fixture)

HOSTILE_LAYER = '<script>alert("layer")</script>'
HOSTILE_NAME = "<img src=x onerror=alert(1)> & | `rm -rf` *bold*"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shrinkwise" / "workspace" / "report" / "report_schema.json"


def make_hostile(project_path: Path) -> Session:
    """A project name, a layer name, an error and a label that would run or inject if not escaped."""
    from shrinkwise.workspace.project import Experiment, RecipeStep
    from shrinkwise.workspace.sensitivity_model import Proposal, SensitivityResult, VariantSummary

    session = Session.open(project_path)
    p = session.project
    p.name = HOSTILE_NAME
    result = SensitivityResult(
        technique="int8_static",
        metric="accuracy",
        tolerance=0.01,
        original_quality=0.9,
        sensitivity={HOSTILE_LAYER: 0.31, "/conv1/Conv": 0.12, "/fc/Gemm": 0.02},
        all_quantized=VariantSummary(quality=0.5, drop=0.4),
        proposal=Proposal(keep_float=[HOSTILE_LAYER], quality=0.895, drop=0.005, meets_tolerance=True),
    )
    p.experiments.append(
        Experiment(id="sens-1", label="sensitivity", kind="sensitivity", status="finished", extra=result.to_extra())
    )
    p.experiments.append(
        Experiment(
            id="run-bad",
            label="<b>bad</b> | run",
            kind="run",
            status="failed",
            recipe=[RecipeStep(technique="int8_static", config={"calibration_samples": 8})],
            error="<iframe src=evil> failed",
            error_details="Traceback ...\n<script>x</script>",
        )
    )
    session.save()
    prof = session.artifacts / "profile.json"
    raw = json.loads(prof.read_text())
    raw["profile"]["layers"][0]["name"] = HOSTILE_LAYER
    prof.write_text(json.dumps(raw))
    return session


def test_every_format_renders_with_every_section(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    session = Session.open(swept_project)
    for fmt in FORMATS:
        out = write_report(session, fmt, tmp_path / f"report.{fmt}")
        assert out.stat().st_size > 500, fmt
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    for section_id, title in SECTIONS:
        assert f'<section id="{section_id}">' in html, section_id
        assert title.replace("'", "&#39;") in html, title
    # Self-contained: no external resources at all.
    assert not re.search(r"<(link|script|img|iframe)\b", html)
    assert not re.search(r'src="', html)  # links to the advisor's sources are fine; nothing is loaded
    assert not re.search(r'href="(?!https?://|#)', html)
    assert html.count("<svg") >= 3  # two trade-off plots and the per-class bars
    # Every figure carries its source.
    assert 'class="src host"' in html
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Shrinkwise report: Digits demo")
    for heading in ("## Verdict", "## Candidates", "## Reproduce"):
        assert heading in md
    data = json.loads((tmp_path / "report.json").read_text())
    ReportData.model_validate(data)


def test_report_content_for_the_demo(swept_project: Path) -> None:  # noqa: F811
    session = Session.open(swept_project)
    report = build_report(session)
    ids = [e.id for e in report.experiments]
    assert ids[0] == "original" and len(ids) == 3
    assert report.verdict.candidate_id in ids[1:]
    assert report.verdict.checks and {c.key for c in report.verdict.checks} == {
        "size_mb",
        "latency_ms",
        "accuracy_drop_pts",
    }
    assert all(c.source in ("host", "device", "estimate", None) for c in report.verdict.checks)
    assert report.verdict.status in ("meets_all", "misses", "unknown")
    assert {p.id for p in report.plots} == {"tradeoff-size", "tradeoff-latency"}
    size_plot = report.plots[0]
    assert any(p.pareto for p in size_plot.points) and any(b.axis == "x" for b in size_plot.budget_lines)
    assert len(report.deltas.per_class) == 10 and report.deltas.per_subgroup
    assert report.layers.before and report.layers.after  # the candidate was profiled (and cached)
    assert report.reproducibility.model_sha256 == session.project.model.sha256
    assert all(kv.value.startswith("shrinkwise ") for kv in report.reproducibility.commands)
    assert any(d.warnings is not None for d in report.data)


def test_json_and_markdown_are_byte_identical(swept_project: Path) -> None:  # noqa: F811
    first = {fmt: render(build_report(Session.open(swept_project)), fmt) for fmt in ("json", "md", "html")}
    second = {fmt: render(build_report(Session.open(swept_project)), fmt) for fmt in ("json", "md", "html")}
    assert first == second


def test_hostile_strings_are_escaped_in_html_and_markdown(swept_project: Path) -> None:  # noqa: F811
    session = make_hostile(swept_project)
    report = build_report(session)
    assert report.sensitivity.rows[0].layer == HOSTILE_LAYER
    assert any(l.name == HOSTILE_LAYER for l in report.layers.before)
    html = render(report, "html").decode()
    assert "<script" not in html.lower() and "<iframe" not in html.lower() and "<img" not in html.lower()
    assert "<b>bad</b>" not in html
    assert (
        "&lt;script&gt;alert(&#34;layer&#34;)&lt;/script&gt;" in html
        or "&lt;script&gt;alert(&quot;layer&quot;)&lt;/script&gt;" in html
    )
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; | `rm -rf` *bold*" in html
    md = render(report, "md").decode()
    assert "<img" not in md and "<iframe" not in md and "<b>" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md
    # A table cell cannot be split by a pipe or closed by markup from a name: every candidates row has 8 bare pipes.
    rows = [line for line in md.splitlines() if line.startswith("| ") and ("finished" in line or "failed" in line)]
    assert rows and all(len(re.findall(r"(?<!\\)\|", line)) == 8 for line in rows), rows


def test_hostile_strings_are_text_in_the_pdf(swept_project: Path) -> None:  # noqa: F811
    from tests.workspace.test_report_fixtures import pdf_text

    report = build_report(make_hostile(swept_project))
    text = pdf_text(render(report, "pdf"))
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", HOSTILE_LAYER) in flat
    assert re.sub(r"\s+", "", HOSTILE_NAME) in flat
    assert "<iframesrc=evil>failed" in flat


def test_schema_file_is_up_to_date() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == report_schema(), (
        "run: python -m shrinkwise.workspace.report.schema > shrinkwise/workspace/report/report_schema.json"
    )


def test_json_report_validates_against_the_published_schema(swept_project: Path) -> None:  # noqa: F811
    from tests.workspace.test_report_fixtures import validate

    data = json.loads(render(build_report(Session.open(swept_project)), "json"))
    validate(data, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def test_report_without_candidates_or_budget(demo_project: Path, tmp_path: Path) -> None:
    session = Session.open(demo_project)
    report = build_report(session)
    assert report.verdict.status == "no_candidate"
    for fmt in FORMATS:
        assert render(report, fmt)


def test_cli_report(swept_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from shrinkwise.workspace.cli import main

    assert main(["report", str(swept_project), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").exists()
    assert main(["report", str(swept_project), "--format", "md", "--out", str(tmp_path / "r.txt")]) == 0
    assert main(["report", str(swept_project), "--out", str(tmp_path / "r.docx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot tell the format" in err
    # Advice saved by `shrinkwise advise --json` is read back as the advisor's own type (no key guessing).
    assert main(["advise", str(swept_project), "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)
    saved["plan"][0]["title"] = "Try <int8> first"
    advice = tmp_path / "advice.json"
    advice.write_text(json.dumps(saved))
    assert main(["report", str(swept_project), "--advice", str(advice), "--out", str(tmp_path / "a.json")]) == 0
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["advice"]["available"] and data["advice"]["plan"][0]["title"] == "Try <int8> first"
    assert data["verdict"]["recommendation"] == saved["decision"]["headline"] or data["verdict"]["recommendation"]
    advice.write_text(json.dumps({"plan": [{"rule_id": "guessed-shape"}]}))
    assert main(["report", str(swept_project), "--advice", str(advice), "--out", str(tmp_path / "c.json")]) == 2
    assert "is not the advisor's JSON" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                str(swept_project),
                "--advice",
                str(tmp_path / "missing.json"),
                "--out",
                str(tmp_path / "b.json"),
            ]
        )
        == 2
    )


def test_pdf_has_the_same_sections_and_opens(swept_project: Path, tmp_path: Path) -> None:  # noqa: F811
    import shutil
    import subprocess

    from tests.workspace.test_report_fixtures import pdf_text

    pdf = render(build_report(Session.open(swept_project)), "pdf")
    text = pdf_text(pdf)
    for _, title in SECTIONS:
        assert title in text, title
    assert "Quality against file size" in text  # the SVG plot's own text is text in the PDF too
    if shutil.which("pdftoppm"):  # poppler, when installed, must read every page
        (tmp_path / "r.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "30", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True, timeout=120
        )
        assert len(list(tmp_path.glob("page*.png"))) >= 3


def test_recreate_commands_parse_back_to_the_recipe(swept_project: Path) -> None:  # noqa: F811
    import shlex

    from shrinkwise.workspace.cli import build_parser

    session = Session.open(swept_project)
    report = build_report(session)
    parser = build_parser()
    for e in session.project.experiments:
        if e.kind not in ("run", "sweep"):
            continue
        cmd = next(kv.value for kv in report.reproducibility.commands if kv.key == e.id)
        args = parser.parse_args(shlex.split(cmd)[1:])
        assert args.command == "run" and args.technique == e.recipe[0].technique
        settings = {}
        for item in args.set or []:
            key, _, value = item.partition("=")
            settings[key] = json.loads(value)
        assert settings == {k: v for k, v in e.recipe[0].config.items() if k not in ("technique", "version")}


def test_pdf_without_a_unicode_font_falls_back_to_latin1(swept_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from shrinkwise.workspace.report import pdf as pdf_module
    from tests.workspace.test_report_fixtures import pdf_text

    monkeypatch.setattr(pdf_module, "find_fonts", lambda: None)
    text = pdf_text(render(build_report(make_hostile(swept_project)), "pdf"))
    assert "Verdict" in text and re.sub(r"\s+", "", HOSTILE_LAYER) in re.sub(r"\s+", "", text)


def test_disagreement_examples_show_labels_answers_and_thumbnails(swept_project: Path) -> None:  # noqa: F811
    session = Session.open(swept_project)
    exp = next(e for e in session.project.experiments if e.kind == "sweep")
    exp.quality.disagreements = [3, 1, 4]
    session.project.chosen = exp.id
    session.save()
    report = build_report(session)
    d = report.disagreements
    assert d.candidate_id == exp.id and d.total == 3 and [x.index for x in d.examples] == [3, 1, 4]
    x = d.examples[0]
    assert x.label is not None and x.original is not None and x.candidate is not None
    assert x.pixels is not None and len(x.pixels) == 8 and len(x.pixels[0]) == 8
    assert render(report, "html").decode().count("<svg") >= 6  # plots, bars and three thumbnails
    cached = list((session.artifacts / "report-cache").glob("disagreements-*.json"))
    assert cached and build_report(Session.open(swept_project)).disagreements == d
