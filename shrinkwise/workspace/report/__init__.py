"""Reports: one `ReportData` per project, rendered as HTML, PDF, Markdown or JSON. Qt-free (see docs/reports.md).

from shrinkwise.workspace.report import write_report
write_report(session, "html", "report.html")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from shrinkwise.workspace.report.model import REPORT_SCHEMA_VERSION, ReportData

Format = Literal["html", "pdf", "md", "json"]
FORMATS: tuple[str, ...] = ("html", "pdf", "md", "json")
SCHEMA_FILE = "report_schema.json"

__all__ = ["FORMATS", "REPORT_SCHEMA_VERSION", "ReportData", "build_report", "render", "report_schema", "write_report"]


def build_report(session: Any, advice: Any = None, use_advisor: bool = True, compute: bool = True) -> ReportData:
    from shrinkwise.workspace.report.build import build_report as _build

    return _build(session, advice=advice, use_advisor=use_advisor, compute=compute)


def render(report: ReportData, fmt: str) -> bytes:
    """The report in `fmt` as bytes (UTF-8 text for html/md/json, a PDF document for pdf)."""
    from shrinkwise.compression.errors import ShrinkwiseError

    if fmt == "html":
        from shrinkwise.workspace.report.renderers import render_html

        return render_html(report).encode("utf-8")
    if fmt == "md":
        from shrinkwise.workspace.report.renderers import render_markdown

        return render_markdown(report).encode("utf-8")
    if fmt == "json":
        from shrinkwise.workspace.report.renderers import render_json

        return render_json(report).encode("utf-8")
    if fmt == "pdf":
        from shrinkwise.workspace.report.pdf import render_pdf

        return render_pdf(report)
    raise ShrinkwiseError(f"unknown report format '{fmt}'", fix=f"use one of: {', '.join(FORMATS)}")


def format_from_path(path: Path | str) -> str | None:
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"htm": "html", "markdown": "md"}.get(suffix, suffix) if suffix in (*FORMATS, "htm", "markdown") else None


def write_report(session: Any, fmt: str, out: Path | str, advice: Any = None, compute: bool = True) -> Path:
    """Build and write the report atomically; returns the file written."""
    from shrinkwise.workspace.atomic import atomic_write_bytes

    out = Path(out)
    atomic_write_bytes(out, render(build_report(session, advice=advice, compute=compute), fmt))
    return out


def report_schema() -> dict[str, Any]:
    """The JSON schema of the JSON report (published as workspace/report/report_schema.json)."""
    schema = ReportData.model_json_schema()
    schema["$id"] = f"https://shrinkwise.invalid/report-schema-v{REPORT_SCHEMA_VERSION}.json"
    schema["title"] = "Shrinkwise report"
    return schema
