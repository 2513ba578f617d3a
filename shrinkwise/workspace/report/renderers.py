"""Render `ReportData` as HTML (one self-contained file), Markdown (a short summary) and JSON (the full record).

HTML goes through Jinja2 with autoescaping on: every string from a model, a file or the user is text, never markup.
The SVG figures are made by `workspace.report.svg`, which escapes its own text. Markdown uses a separate template
whose every output is escaped for Markdown (and for the HTML that Markdown renderers pass through).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

from shrinkwise.workspace.labels import KIND_LABELS, METRIC_LABELS, status_label
from shrinkwise.workspace.report.model import SOURCE_WORDS, ExperimentInfo, Figure, ReportData, fmt_bytes
from shrinkwise.workspace.report.svg import delta_bars_svg, pixels_svg, scatter_svg

TABLE_METRICS = ("size_bytes", "latency_ms_median", "latency_ms_p90", "peak_memory_mb", "accuracy", "top1_agreement")
SOURCE_SHORT = {"host": "host", "device": "device", "estimate": "estimate"}
SECTIONS = (
    ("verdict", "Verdict"),
    ("model", "Model, target, budget and data"),
    ("advice", "The advisor's plan"),
    ("experiments", "Experiments"),
    ("tradeoff", "Trade-off"),
    ("deltas", "Per-class and per-subgroup changes"),
    ("sensitivity", "Sensitivity ranking"),
    ("layers", "Slowest layers, before and after"),
    ("disagreements", "Disagreement examples"),
    ("warnings", "Unresolved warnings"),
    ("reproducibility", "Reproducibility"),
)


def _template_text(name: str) -> str:
    return resources.files("shrinkwise.workspace.report").joinpath("templates", name).read_text(encoding="utf-8")


def figure_of(e: ExperimentInfo, metric: str) -> Figure | None:
    return next((f for f in e.figures if f.metric == metric), None)


_BREAK_AFTER = re.compile(r"([_./\\,:-])")


def break_ids(value: Any) -> Markup:
    """Escaped text with a line-break opportunity (<wbr>) after each _ . / , : - so that a long identifier wraps
    at its own separators, never in the middle of a word (the CSS keeps `word-break: normal`)."""
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(str(value)))))


def pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.2f} %"


@lru_cache(maxsize=1)
def _html_env() -> Any:
    from jinja2 import Environment

    env = Environment(autoescape=True, keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)
    env.filters["ids"] = break_ids
    return env


def render_html(report: ReportData) -> str:
    env = _html_env()
    template = env.from_string(_template_text("report.html.j2"))
    return template.render(
        r=report,
        css=Markup(_template_text("report.css")),
        sections=SECTIONS,
        source_words=SOURCE_WORDS,
        source_short=SOURCE_SHORT,
        metric_labels=METRIC_LABELS,
        table_metrics=TABLE_METRICS,
        figure_of=figure_of,
        fmt_bytes=fmt_bytes,
        pct=pct,
        status_words=status_label,
        kind_words=KIND_LABELS,
        plot_svgs=[Markup(scatter_svg(p)) for p in report.plots],
        delta_svgs=[
            Markup(delta_bars_svg(report.deltas.per_class, "Accuracy change per class")),
            Markup(delta_bars_svg(report.deltas.per_subgroup, "Accuracy change per subgroup")),
        ],
        pixel_svg=lambda px: Markup(pixels_svg(px)),
    )


# --- Markdown ----------------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~!])")


class MdSafe(str):
    """Text already made safe for Markdown (passes the template's finaliser unchanged)."""


def md_escape(value: Any) -> str:
    if isinstance(value, MdSafe):
        return value
    if value is None:
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(value: Any) -> MdSafe:
    """An inline code span; backticks and pipes inside cannot end it or split a table cell."""
    text = str(value).replace("\n", " ").replace("`", "'").replace("|", "\\|")
    return MdSafe(f"`{text}`")


def md_fence(value: Any) -> MdSafe:
    """A line inside a ~~~ fence: nothing is interpreted there except a line that closes the fence."""
    return MdSafe(str(value).replace("\r", " ").replace("\n", " ").replace("~~~", "~ ~ ~"))


def render_markdown(report: ReportData) -> str:
    from jinja2 import Environment

    env = Environment(autoescape=False, finalize=md_escape, keep_trailing_newline=True)
    # The project's headline metric (the plots' y axis: `workspace.figures.quality_metric`, from the output's task).
    quality_metric = report.plots[0].y_metric if report.plots else "top1_agreement"

    def cell(e: ExperimentInfo, metric: str) -> MdSafe:
        f = figure_of(e, metric)
        return MdSafe("–" if f is None else f"{md_escape(f.text)} ({f.source})")

    def tag(source: str | None) -> MdSafe:
        return MdSafe(f" ({source})" if source else "")

    def yesno(v: bool | None) -> MdSafe:
        return MdSafe("yes" if v is True else ("**no**" if v is False else "not known"))

    text = env.from_string(_template_text("report.md.j2")).render(
        r=report,
        code=md_code,
        fence=md_fence,
        cell=cell,
        tag=tag,
        yesno=yesno,
        quality_metric=quality_metric,
        quality_label=MdSafe(METRIC_LABELS.get(quality_metric, quality_metric)),
        status_words=status_label,
    )
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip("\n") + "\n"


def render_json(report: ReportData) -> str:
    return report.model_dump_json(indent=2) + "\n"
