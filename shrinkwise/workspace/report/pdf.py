"""The report as PDF, drawn with fpdf2 from the same `ReportData` and the same SVG figures as the HTML.

Why fpdf2: pure Python (no pango/cairo like WeasyPrint), no Qt (workspace must not import it), embeds our SVG plots
as vector graphics, and writes text as text: nothing in a string is ever read as markup, so a layer called
`<script>` is printed as those characters. A Unicode TrueType font (DejaVu, Arial, ...) is used when the system has
one; otherwise the built-in Helvetica with text transliterated to Latin-1.
"""

from __future__ import annotations

import io
import os
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from shrinkwise.workspace.labels import KIND_LABELS, METRIC_LABELS, status_label
from shrinkwise.workspace.report.model import ReportData, fmt_bytes
from shrinkwise.workspace.report.renderers import SECTIONS, TABLE_METRICS, figure_of, pct
from shrinkwise.workspace.report.svg import delta_bars_svg, pixels_svg, scatter_svg

# (regular, bold, mono) font files, first found wins.
_FONT_SETS: list[tuple[str, str, str]] = [
    ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSansMono.ttf"),
    ("truetype/dejavu/DejaVuSans.ttf", "truetype/dejavu/DejaVuSans-Bold.ttf", "truetype/dejavu/DejaVuSansMono.ttf"),
    ("TTF/DejaVuSans.ttf", "TTF/DejaVuSans-Bold.ttf", "TTF/DejaVuSansMono.ttf"),
    (
        "truetype/liberation/LiberationSans-Regular.ttf",
        "truetype/liberation/LiberationSans-Bold.ttf",
        "truetype/liberation/LiberationMono-Regular.ttf",
    ),
    ("arial.ttf", "arialbd.ttf", "consola.ttf"),
    ("Supplemental/Arial.ttf", "Supplemental/Arial Bold.ttf", "Supplemental/Courier New.ttf"),
]
_FONT_DIRS = [
    "/usr/share/fonts",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts"),
    os.path.expanduser("~/.local/share/fonts"),
    os.path.expanduser("~/.fonts"),
]

_LATIN1 = {
    "→": "->",
    "≤": "<=",
    "≥": ">=",
    "×": "x",
    "−": "-",
    "–": "-",
    "—": "-",
    "…": "...",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "±": "+/-",
    "µ": "u",
}


def find_fonts() -> tuple[Path, Path, Path] | None:
    override = os.environ.get("SHRINKWISE_PDF_FONT_DIR")
    dirs = ([override] if override else []) + _FONT_DIRS
    try:
        import matplotlib  # noqa: F401  (ships DejaVu; only if it happens to be installed)

        dirs.append(str(Path(sys.modules["matplotlib"].__file__).parent / "mpl-data" / "fonts" / "ttf"))  # type: ignore[arg-type]
    except ImportError:
        pass
    for d in dirs:
        for regular, bold, mono in _FONT_SETS:
            paths = [Path(d) / regular, Path(d) / bold, Path(d) / mono]
            paths = [p if p.exists() else Path(d) / p.name for p in paths]
            if all(p.exists() for p in paths):
                return paths[0], paths[1], paths[2]
    return None


def latin1(text: str) -> str:
    for k, v in _LATIN1.items():
        text = text.replace(k, v)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Doc:
    """A thin layer over FPDF: headings, paragraphs, tables and SVG figures, all plain text."""

    def __init__(self, report: ReportData, fonts: tuple[Path, Path, Path] | None) -> None:
        from fpdf import FPDF

        title = report.title

        class PDF(FPDF):
            def footer(self) -> None:  # noqa: D401
                self.set_y(-12)
                self.set_font(doc.sans, "", 8)
                self.set_text_color(120, 120, 120)
                self.cell(0, 6, doc.t(f"{title} — page {self.page_no()}"), align="C")

        doc = self
        self.unicode = fonts is not None
        self.pdf = PDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_creation_date(_as_datetime(report.as_of))
        self.pdf.set_margins(15, 15, 15)
        self.pdf.set_auto_page_break(True, margin=18)
        if fonts is not None:
            self.pdf.add_font("DejaVu Sans", "", str(fonts[0]))
            self.pdf.add_font("DejaVu Sans", "B", str(fonts[1]))
            self.pdf.add_font("DejaVu Sans Mono", "", str(fonts[2]))
            self.sans, self.mono = "DejaVu Sans", "DejaVu Sans Mono"
        else:
            self.sans, self.mono = "helvetica", "courier"
        self.pdf.set_title(self.t(title))
        self.pdf.set_author("Shrinkwise")
        self.pdf.set_creator("Shrinkwise report (fpdf2)")
        self.pdf.add_page()

    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def t(self, text: object) -> str:
        s = "" if text is None else str(text)
        return s if self.unicode else latin1(s)

    def font(
        self, size: float = 9.5, bold: bool = False, mono: bool = False, colour: tuple[int, int, int] = (34, 34, 34)
    ) -> None:
        self.pdf.set_font(self.mono if mono else self.sans, "B" if bold and not mono else "", size)
        self.pdf.set_text_color(*colour)

    def h1(self, text: str) -> None:
        self.font(17, bold=True)
        self.pdf.multi_cell(self.width, 8, self.t(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.ln(1)

    def h2(self, text: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 50:
            self.pdf.add_page()
        self.pdf.ln(3)
        self.pdf.set_draw_color(210, 214, 220)
        self.pdf.line(self.pdf.l_margin, self.pdf.get_y(), self.pdf.w - self.pdf.r_margin, self.pdf.get_y())
        self.pdf.ln(2)
        self.pdf.start_section(self.t(text), level=0)
        self.font(13.5, bold=True)
        self.pdf.multi_cell(self.width, 7, self.t(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.ln(1)

    def h3(self, text: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 35:
            self.pdf.add_page()
        self.font(11, bold=True)
        self.pdf.multi_cell(self.width, 6, self.t(text), new_x="LMARGIN", new_y="NEXT", align="L")

    def para(
        self,
        text: str,
        size: float = 9.5,
        bold: bool = False,
        colour: tuple[int, int, int] = (34, 34, 34),
        mono: bool = False,
    ) -> None:
        if not text:
            return
        from fpdf.enums import WrapMode

        self.font(size, bold=bold, mono=mono, colour=colour)
        self.pdf.multi_cell(
            self.width,
            size * 0.5,
            self.t(text),
            new_x="LMARGIN",
            new_y="NEXT",
            align="L",
            wrapmode=WrapMode.WORD,  # commands and paths break between words (a word too long still splits)
        )
        self.pdf.ln(0.8)

    def muted(self, text: str) -> None:
        self.para(text, 8.5, colour=(110, 110, 110))

    def table(
        self, headings: list[str] | None, rows: list[list[str]], widths: list[float] | None = None, size: float = 8.0
    ) -> None:
        """A table with text cells (never markup); `headings=None` for a key/value table without a heading row."""
        if not rows:
            return
        from fpdf.enums import TableBordersLayout, WrapMode

        self.font(size)
        with self.pdf.table(
            col_widths=tuple(widths) if widths else None,
            text_align="LEFT",
            line_height=size * 0.48,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=_heading_style(self.sans, size),
            wrapmode=WrapMode.WORD,
            width=self.width,
            padding=0.8,
            first_row_as_headings=headings is not None,
        ) as table:
            if headings is not None:
                head = table.row()
                for h in headings:
                    head.cell(self.t(h))
            for row in rows:
                r = table.row()
                for c in row:
                    r.cell(self.t(c))
        self.pdf.ln(1.5)

    def kv(self, rows: list[tuple[str, str]], key_width: float = 0.28) -> None:
        if rows:
            self.table(None, [[k, v] for k, v in rows], [key_width, 1 - key_width])

    def svg(self, svg_text: str, width_mm: float) -> None:
        family = "DejaVu Sans" if self.unicode else "helvetica"
        svg_text = svg_text.replace(
            'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"', f'font-family="{family}"'
        )
        if not self.unicode:
            svg_text = latin1(svg_text)
        # Height from the viewBox keeps the aspect ratio; break the page first if it does not fit.
        import re

        m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg_text)
        height_mm = width_mm * float(m.group(2)) / float(m.group(1)) if m else width_mm * 0.6
        if self.pdf.get_y() + height_mm > self.pdf.h - 18:
            self.pdf.add_page()
        y = self.pdf.get_y()
        self.pdf.image(io.BytesIO(svg_text.encode("utf-8")), x=self.pdf.l_margin, y=y, w=width_mm)
        self.pdf.set_y(y + height_mm + 1)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _as_datetime(text: str) -> Any:
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = datetime(2000, 1, 1)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _heading_style(family: str, size: float) -> Any:
    from fpdf.fonts import FontFace

    return FontFace(family=family, emphasis="BOLD", size_pt=size, color=(85, 85, 85))


def _yesno(v: bool | None) -> str:
    return "yes" if v is True else ("NO" if v is False else "not known")


def _src(s: str | None) -> str:
    return f" [{s}]" if s else ""


def render_pdf(report: ReportData) -> bytes:
    """The same sections as the HTML, in the same order, with the same figures."""
    doc = _Doc(report, find_fonts())
    r = report
    titles = dict(SECTIONS)
    doc.h1(r.title)
    doc.para(r.notes)
    doc.muted(
        "Every figure says where it comes from: [host] measured on this computer, [device] measured on the device, [estimate] estimated."
    )

    # Verdict
    doc.h2(titles["verdict"])
    colour = {"meets_all": (26, 143, 76), "misses": (192, 57, 43)}.get(r.verdict.status, (176, 109, 0))
    doc.para(r.verdict.headline, 11.5, bold=True, colour=colour)
    for line in r.verdict.summary:
        doc.para(line)
    if r.verdict.flag:
        doc.para(r.verdict.flag, bold=True, colour=(192, 57, 43))
    doc.para("Why this candidate: " + r.verdict.recommendation)
    doc.table(
        ["Budget", "Limit", "Candidate", "Meets it", "By how much", "Note"],
        [
            [c.label, c.limit_text, c.value_text + _src(c.source), _yesno(c.met), c.margin_text, c.note]
            for c in r.verdict.checks
        ],
        [0.15, 0.12, 0.17, 0.09, 0.22, 0.25],
    )
    if r.verdict.quality_cost:
        doc.h3("Quality cost")
        for q in r.verdict.quality_cost:
            doc.para(f"• {q.text} [host]")

    # Model, target, budget, data
    doc.h2(titles["model"])
    m = r.model
    doc.h3("Model")
    rows = [("File", f"{m.path} ({m.format})")]
    if m.architecture:
        rows.append(("Architecture", m.architecture))
    rows.append(("Measured as", m.onnx_path + (f" (exported with {m.exporter})" if m.exporter else "")))
    if m.parameters is not None:
        rows.append(("Parameters", f"{m.parameters:,}"))
    if m.file_bytes is not None:
        rows.append(("File size", fmt_bytes(m.file_bytes) + " [host]"))
    if m.op_count is not None:
        rows.append(("Operators", f"{m.op_count} (opset {m.opset})"))
    rows += [("Input", f"{t.name} {t.shape} {t.dtype}") for t in m.inputs]
    rows += [("Output", f"{t.name} {t.shape} {t.dtype}") for t in m.outputs]
    doc.kv(rows)
    doc.h3("Target")
    if r.target:
        doc.kv([(kv.label or kv.key, kv.value) for kv in r.target])
    else:
        doc.muted("No target device set: figures are for this computer.")
    doc.h3("Budget")
    if r.budget:
        doc.kv([(kv.label or kv.key, kv.value) for kv in r.budget])
    else:
        doc.muted("No budget set.")
    doc.h3("Data")
    if r.data:
        doc.table(
            ["File", "Kind", "Role", "Samples", "Classes", "Subgroups"],
            [
                [
                    d.path,
                    d.kind,
                    d.role,
                    str(d.samples),
                    str(len(d.class_counts)),
                    ", ".join(f"{k}: {v}" for k, v in d.group_counts.items()),
                ]
                for d in r.data
            ],
            [0.3, 0.08, 0.12, 0.1, 0.1, 0.3],
        )
        for d in r.data:
            for w in d.warnings:
                doc.para(f"{w.severity} ({d.path}): {w.message}", 9, colour=(176, 109, 0))
    else:
        doc.muted("No data: quality is measured on generated inputs only.")

    # Advice
    doc.h2(titles["advice"])
    if not r.advice.available:
        doc.muted(r.advice.note)
    for group, title in (
        ("blockers", "Blockers"),
        ("plan", "Plan"),
        ("warnings", "Warnings"),
        ("questions", "Open questions"),
    ):
        items = getattr(r.advice, group)
        if not items:
            continue
        doc.h3(title)
        for it in items:
            head = " ".join(
                x
                for x in (
                    it.title,
                    f"[{it.rule_id}]" if it.rule_id else "",
                    f"-> {it.technique}" if it.technique else "",
                    "(resolved)" if it.resolved else "",
                )
                if x
            )
            doc.para(head, 9.5, bold=True)
            about = ", ".join(it.about) if len(it.about) > 1 else ""
            for label, value in (("About", about), ("What", it.what), ("Why", it.why), ("What to do", it.do)):
                if value:
                    doc.para(f"{label}: {value}", 9)
            if it.sources:
                doc.muted(
                    "Sources: "
                    + "; ".join(
                        s.label + (f" ({s.confidence})" if s.confidence else "") + (f" {s.url}" if s.url else "")
                        for s in it.sources
                    )
                )

    # Experiments
    doc.h2(titles["experiments"])
    short = {
        "size_bytes": "Size",
        "latency_ms_median": "Latency median",
        "latency_ms_p90": "Latency p90",
        "peak_memory_mb": "Peak memory",
        "accuracy": "Accuracy",
        "top1_agreement": "Agreement",
    }
    heads = (
        ["Candidate", "Recipe", "Status"]
        + [short.get(x, METRIC_LABELS[x]) for x in TABLE_METRICS]
        + ["Front", "Budget"]
    )
    rows2 = []
    for e in r.experiments:
        cells = [
            f"{e.label}\n{e.id}"
            + ("\n(chosen)" if e.is_focus and r.verdict.chosen else ("\n(suggested)" if e.is_focus else "")),
            " -> ".join(s.technique for s in e.recipe) or ("original" if e.kind == "baseline" else "-"),
            status_label(e.status),
        ]
        for metric in TABLE_METRICS:
            f = figure_of(e, metric)
            cells.append(f"{f.text}{_src(f.source)}" if f else "-")
        cells += ["yes" if e.on_pareto_front else "", "" if e.meets_budgets is None else _yesno(e.meets_budgets)]
        rows2.append(cells)
    doc.table(heads, rows2, [0.14, 0.09, 0.08, 0.09, 0.09, 0.09, 0.09, 0.09, 0.1, 0.07, 0.07], size=6.8)
    for e in r.experiments:
        doc.h3(f"{e.label} ({e.id}) — {KIND_LABELS.get(e.kind, e.kind)}, {status_label(e.status)}")
        if e.error:
            doc.para(f"Error: {e.error}", 9, colour=(192, 57, 43))
        if e.error_details:
            doc.para(e.error_details, 7, mono=True, colour=(80, 80, 80))
        if e.recipe:
            doc.table(
                ["Step", "Technique", "Settings"],
                [[str(i + 1), s.technique, s.config] for i, s in enumerate(e.recipe)],
                [0.06, 0.16, 0.78],
                size=7,
            )
        for a in e.artifacts:
            doc.muted(
                f"Artifact {a.path}, {fmt_bytes(a.size_bytes)}, sha256 {a.sha256[:16]}…"
                + (f" — {a.summary}" if a.summary else "")
            )
            for note in a.notes:
                doc.muted(f"• {note}")
        if e.device_figures:
            doc.table(
                ["Measured on the device", "Value", "How"],
                [[METRIC_LABELS.get(f.metric, f.metric), f"{f.text} [device]", f.how] for f in e.device_figures],
                [0.3, 0.2, 0.5],
                size=7.5,
            )
        if e.command:
            doc.para(e.command, 7, mono=True, colour=(60, 60, 60))

    # Trade-off
    doc.h2(titles["tradeoff"])
    doc.muted("Each point is a candidate; the orange line joins the Pareto front; dashed red lines are the budgets.")
    for p in r.plots:
        doc.svg(scatter_svg(p), doc.width * 0.78)
        doc.muted(p.note)

    # Deltas
    doc.h2(titles["deltas"])
    if r.deltas.candidate_id:
        doc.para(f"'{r.deltas.candidate_label}' against the original, accuracy in % [host].")
    doc.muted(r.deltas.note)
    for rows3, title, svg_title in (
        (r.deltas.per_class, "Class", "Accuracy change per class"),
        (r.deltas.per_subgroup, "Subgroup", "Accuracy change per subgroup"),
    ):
        if not rows3:
            continue
        doc.svg(delta_bars_svg(rows3, svg_title), doc.width * 0.6)
        doc.table(
            [title, "Original", "Candidate", "Change (points)"],
            [
                [x.name, pct(x.baseline), pct(x.candidate), "-" if x.delta_pts is None else f"{x.delta_pts:+.2f}"]
                for x in rows3
            ],
            [0.4, 0.2, 0.2, 0.2],
        )

    # Sensitivity
    doc.h2(titles["sensitivity"])
    doc.table(
        ["Rank", "Layer", "Quality drop"],
        [[str(x.rank), x.layer, f"{x.drop_text or format(x.drop, '.4g')} [host]"] for x in r.sensitivity.rows],
        [0.08, 0.7, 0.22],
    )
    doc.muted(r.sensitivity.note)

    # Layers
    doc.h2(titles["layers"])
    for rows4, title in ((r.layers.before, "Original"), (r.layers.after, "Candidate")):
        doc.h3(title)
        if rows4:
            doc.table(
                ["Layer", "Op", "Time", "Share"],
                [[x.name, x.op_type, f"{x.time_us:.1f} µs [{r.layers.source}]", f"{x.share_pct:.1f} %"] for x in rows4],
                [0.5, 0.16, 0.2, 0.14],
            )
        else:
            doc.muted("not profiled")
    doc.muted(r.layers.note)

    # Disagreements
    doc.h2(titles["disagreements"])
    if r.disagreements.candidate_id:
        doc.para(f"{r.disagreements.total} of {r.disagreements.samples} evaluation inputs changed their answer [host].")
    if r.disagreements.examples:
        x0, y = doc.pdf.l_margin, doc.pdf.get_y()
        if y + 30 > doc.pdf.h - 18:
            doc.pdf.add_page()
            y = doc.pdf.get_y()
        cell_w = 22
        for i, ex in enumerate(r.disagreements.examples):
            x = x0 + (i % 8) * cell_w
            if i and i % 8 == 0:
                y += 30
                if y + 30 > doc.pdf.h - 18:
                    doc.pdf.add_page()
                    y = doc.pdf.get_y()
            if ex.pixels:
                doc.pdf.image(io.BytesIO(pixels_svg(ex.pixels).encode()), x=x + 3, y=y, w=14)
            doc.font(7)
            doc.pdf.set_xy(x, y + 15)
            text = (
                f"#{ex.index}"
                + (f"\nlabel {ex.label}" if ex.label is not None else "")
                + (f"\n{ex.original} -> {ex.candidate}" if ex.original is not None else "")
            )
            doc.pdf.multi_cell(cell_w - 1, 3.2, doc.t(text), align="C")
        doc.pdf.set_xy(x0, y + 30)
    doc.muted(r.disagreements.note)

    # Warnings
    doc.h2(titles["warnings"])
    if r.warnings:
        doc.table(["From", "About", "Warning"], [[w.origin, w.ref, w.message] for w in r.warnings], [0.1, 0.22, 0.68])
    else:
        doc.para("None.", colour=(26, 143, 76))

    # Reproducibility
    doc.h2(titles["reproducibility"])
    rp = r.reproducibility
    doc.kv(
        [("Project file", rp.project_file), ("Model sha256", rp.model_sha256), ("ONNX sha256", rp.onnx_sha256)]
        + [(f"Data {kv.key}", kv.value) for kv in rp.data]
        + [("Split", rp.split)]
    )
    doc.h3("Versions the candidate was made with")
    doc.kv([(kv.key, kv.value) for kv in rp.versions])
    doc.h3("Versions that made this report")
    doc.kv([(kv.key, kv.value) for kv in rp.report_versions])
    doc.h3("Commands that recreate each candidate")
    for kv in rp.commands:
        head = f"{kv.label} ({kv.key})" if kv.label and kv.label.lower() != kv.key.lower() else (kv.label or kv.key)
        doc.para(f"# {head}\n{kv.value}", 7.5, mono=True)
    return doc.output()
