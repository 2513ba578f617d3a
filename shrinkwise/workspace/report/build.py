"""Build `ReportData` from a session: the one place that reads the project for a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shrinkwise.advisor.advice import Advice, Statement
from shrinkwise.advisor.decision import Decision
from shrinkwise.workspace.figures import pareto_front, quality_metric
from shrinkwise.workspace.labels import STATUS_HELP, metric_label, status_label
from shrinkwise.workspace.labels import label as key_label
from shrinkwise.workspace.project import Experiment, Project
from shrinkwise.workspace.report.model import (
    ERROR_DETAILS_CHARS,
    KEY_METRICS,
    MAX_DISAGREEMENT_EXAMPLES,
    MAX_SENSITIVITY_ROWS,
    SLOWEST_LAYERS,
    AdviceItem,
    AdviceSection,
    ArtifactInfo,
    AutopilotRung,
    AutopilotSection,
    BudgetLine,
    DataSection,
    DataWarning,
    DeltaRow,
    DeltasSection,
    DisagreementExample,
    DisagreementsSection,
    ExperimentInfo,
    KeyValue,
    LayersSection,
    LayerTime,
    ModelSection,
    PlotPoint,
    QualityCost,
    ReportData,
    Reproducibility,
    ScatterPlot,
    SensitivityRow,
    SensitivitySection,
    SourceRef,
    StepInfo,
    TensorInfo,
    UnresolvedWarning,
    Verdict,
    budget_checks,
    budget_rows,
    compact_json,
    figure,
    fmt_bytes,
    pick,
    project_file_name,
    recreate_command,
    target_is_host,
    tri_all,
)
from shrinkwise.workspace.session import Session
from shrinkwise.workspace.versions import library_versions

CANDIDATE_KINDS = ("run", "sweep")


def candidates(project: Project) -> list[Experiment]:
    """Finished compressed candidates (not the baseline, not sensitivity analyses), in project order."""
    return [e for e in project.experiments if e.kind in CANDIDATE_KINDS and e.status == "finished" and e.artifacts]


def focus_candidate(project: Project, decision: Decision | None) -> tuple[Experiment | None, bool]:
    """The chosen candidate; without a choice, the advisor's recommended (or provisional) one; else none."""
    for exp_id, chosen in ((project.chosen, True), (decision.candidate if decision else None, False)):
        if exp_id:
            try:
                return project.experiment(exp_id), chosen
            except KeyError:
                continue
    return None, False


# --- sections ----------------------------------------------------------------------------------------------------


def _quality_metric(project: Project) -> str:
    base = project.baseline
    return (quality_metric(base.measurements) if base else None) or "top1_agreement"


def _quality_cost(project: Project, exp: Experiment) -> list[QualityCost]:
    base = project.baseline
    out = []
    for metric, label in (("accuracy", "Accuracy"), ("macro_f1", "Macro F1")):
        a, a0 = pick(exp, metric), pick(base, metric)
        if a is None or a0 is None:
            continue
        d = (a.value - a0.value) * 100.0
        out.append(
            QualityCost(
                metric=metric,
                label=label,
                baseline=a0.value,
                candidate=a.value,
                delta=round(d, 4),
                text=f"{label} {a0.value * 100:.2f} % → {a.value * 100:.2f} % ({d:+.2f} points)",
            )
        )
    agree = pick(exp, "top1_agreement")
    if agree is not None:
        q = exp.quality
        n = len(q.disagreements) if q else None
        samples = q.samples if q else 0
        changed = (
            f"{n} of {samples} inputs changed answer"
            if n is not None and samples
            else f"{(1 - agree.value) * 100:.2f} % of inputs changed answer"
        )
        out.append(
            QualityCost(
                metric="top1_agreement",
                label="Agreement with the original",
                candidate=agree.value,
                text=f"Agreement with the original {agree.value * 100:.2f} % ({changed})",
            )
        )
    sq = pick(exp, "sqnr_db")
    if sq is not None:
        out.append(
            QualityCost(
                metric="sqnr_db",
                label="SQNR",
                candidate=sq.value,
                text=f"Output SQNR {sq.value:.1f} dB (higher is closer to the original)",
            )
        )
    return out


def _summary(project: Project, exp: Experiment) -> list[str]:
    base = project.baseline
    out = []
    s, s0 = pick(exp, "size_bytes"), pick(base, "size_bytes")
    if s and s0 and s.value:
        out.append(f"File size {fmt_bytes(s0.value)} → {fmt_bytes(s.value)} ({s0.value / s.value:.2f}× smaller).")
    enc = pick(exp, "encoded_size_bytes")
    if enc and s0 and enc.value:
        out.append(
            f"Encoded size {fmt_bytes(enc.value)} ({s0.value / enc.value:.2f}× smaller; a compact encoding ONNX Runtime does not load directly)."
        )
    r = pick(exp, "latency_ratio")
    dev = pick(exp, "latency_ms_median", "device")
    if r:
        where = (
            "measured on this computer"
            if r.source == "host"
            else ("measured on the device" if r.source == "device" else "estimated")
        )
        iqr = r.details.get("paired_ratio_iqr") or []
        spread = f"; paired-ratio spread {iqr[0]:.2f}–{iqr[1]:.2f}" if len(iqr) == 2 else ""
        if abs(r.value - 1.0) < 0.03:
            out.append(f"Latency about the same as the original ({r.value:.2f}×, {where}, interleaved{spread}).")
        else:
            word = "faster" if r.value < 1 else "slower"
            factor = 1 / r.value if r.value < 1 else r.value
            out.append(f"Latency {factor:.2f}× {word} than the original ({where}, interleaved{spread}).")
    if dev:
        out.append(f"On the device: median latency {figure(dev).text} ({figure(dev).how}).")
    return out


def build_verdict(project: Project, decision: Decision | None) -> tuple[Verdict, Experiment | None]:
    """The report's first section: the advisor's one decision, and the chosen candidate judged by the same rule."""
    rec: dict[str, Any] = {
        "recommended_id": decision.candidate if decision else None,
        "recommended_label": (decision.label or "") if decision else "",
        "decision_status": decision.status if decision else "",
        "recommendation": decision.paragraph if decision else "The advisor was not run for this report.",
    }
    exp, chosen = focus_candidate(project, decision)
    if exp is None:
        status = "no_candidate" if not candidates(project) else ("no_budget" if _no_budget(project) else "misses")
        headline = decision.headline if decision else "No candidate is chosen, and the advisor was not run."
        return Verdict(status=status, headline=headline, **rec), None  # type: ignore[arg-type]
    checks = budget_checks(project, exp, target_is_host(project))
    label = exp.label or exp.id
    who = f"The chosen candidate '{label}'" if chosen else f"The recommended candidate, '{label}',"
    misses = decision.misses_budget(exp.id) if decision else []
    flag = ""
    if exp.status != "finished":
        status, headline = "unknown", f"{who} did not finish ({exp.status}): {exp.error or 'no result'}."
    elif misses:
        status, headline = "misses", f"{who} misses the budget: {'; '.join(misses)}."
        flag = f"Shipped although it misses the budget: {'; '.join(misses)}."
    elif not checks:
        status, headline = (
            "no_budget",
            f"{who} cannot be judged: no budget is set. Set size, latency or accuracy budgets.",
        )
    elif decision is not None and decision.candidate == exp.id and decision.status == "recommended":
        status, headline = "meets_all", f"{who} meets every budget."
    else:
        verdict = tri_all([c.met for c in checks])
        open_ = ", ".join(c.label.lower() for c in checks if c.met is None) or "whether the target can run it"
        status = "unknown"
        headline = f"{who} misses no budget that could be checked; not yet known: {open_}."
        if verdict is True:
            headline = f"{who} meets every budget that was checked."
    if chosen and decision is not None and decision.candidate and decision.candidate != exp.id and not flag:
        flag = f"The advisor recommends '{decision.label}' instead (see below)."
    return Verdict(
        candidate_id=exp.id,
        candidate_label=label,
        chosen=chosen,
        status=status,  # type: ignore[arg-type]
        headline=headline,
        flag=flag,
        checks=checks,
        quality_cost=_quality_cost(project, exp),
        summary=_summary(project, exp),
        **rec,
    ), exp


def _no_budget(project: Project) -> bool:
    return not project.budget.model_dump(exclude_none=True, exclude={"latency_statistic"})


def build_model(session: Session) -> ModelSection:
    m = session.project.model
    if m is None:
        return ModelSection()
    prof = session.cached_profile()
    return ModelSection(
        path=m.path,
        format=m.format,
        sha256=m.sha256,
        onnx_path=m.onnx_path,
        onnx_sha256=m.onnx_sha256,
        exporter=m.exporter,
        architecture=m.architecture,
        inputs=[TensorInfo(name=s.name, shape=list(s.shape), dtype=s.dtype) for s in m.signature.inputs],
        outputs=[TensorInfo(name=s.name, shape=list(s.shape), dtype=s.dtype) for s in m.signature.outputs],
        parameters=prof.parameters if prof else None,
        file_bytes=prof.file_bytes if prof else None,
        op_count=prof.op_count if prof else None,
        opset=prof.opset if prof else None,
        weight_bytes_by_dtype=dict(sorted(prof.weight_bytes_by_dtype.items())) if prof else {},
    )


def _kv(d: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=str(k), value=v if isinstance(v, str) else compact_json(v)) for k, v in sorted(d.items())]


def build_data(project: Project) -> list[DataSection]:
    out = []
    for d in project.data:
        h = d.health
        out.append(
            DataSection(
                path=d.path,
                kind=d.kind,
                role=d.role,
                samples=d.samples,
                sha256=d.sha256,
                class_counts=dict(sorted(h.class_counts.items())) if h else {},
                group_counts=dict(sorted(h.group_counts.items())) if h else {},
                warnings=[
                    DataWarning(code=w.code, severity=w.severity, message=w.message) for w in (h.warnings if h else [])
                ],
            )
        )
    return out


# --- advice ------------------------------------------------------------------------------------------------------


def _sources(statement: Statement) -> list[SourceRef]:
    return [
        SourceRef(
            label=(", ".join(x for x in (p.source, p.section) if x) or "source") + (f" ({p.note})" if p.note else ""),
            url=p.url if p.url and p.url.startswith(("https://", "http://")) else None,  # never javascript: etc.
            confidence=p.confidence,
            claim=p.claim,
        )
        for p in statement.sources
    ]


def _advice_item(kind: str, s: Statement) -> AdviceItem:
    return AdviceItem(
        kind=kind,
        rule_id=s.rule_id,
        title=s.title,
        what=s.what,
        why=s.why,
        do=s.do,
        severity=s.severity,
        technique=getattr(s, "technique", None),
        sources=_sources(s),
    )


def join_names(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _grouped(kind: str, statements: list[Any], labels: dict[str, str]) -> list[AdviceItem]:
    """One item per rule: a warning the advisor gives once per candidate is said once, naming every candidate.

    When the candidates' texts differ only by the candidate's name, the text says "each candidate" (and `about`
    names them); otherwise each distinct text is kept once.
    """
    groups: dict[str, list[Any]] = {}
    for st in statements:
        groups.setdefault(st.rule_id, []).append(st)
    out = []
    for group in groups.values():
        item = _advice_item(kind, group[0])
        names = list(dict.fromkeys(labels.get(st.subject, st.subject) for st in group if st.subject))
        if len(group) > 1:
            named = [(st.what, labels.get(st.subject, st.subject)) for st in group if st.subject]
            shapes = {what.replace(name, "\x00") for what, name in named if name}
            if len(shapes) == 1 and len(named) == len(group) and "\x00" in next(iter(shapes)):
                shape = next(iter(shapes)).replace("\x00's", "each candidate's").replace("\x00", "each candidate")
                what = shape[:1].upper() + shape[1:]
            else:
                what = " ".join(dict.fromkeys(st.what for st in group))
            item = item.model_copy(update={"what": what})
        out.append(item.model_copy(update={"about": names}))
    return out


def advice_section(advice: Advice | None, note: str = "", labels: dict[str, str] | None = None) -> AdviceSection:
    """The advisor's plan, warnings, blockers and questions, read from `Advice`; a warning about several candidates
    is one item (`labels`: candidate id → the name people see)."""
    if advice is None:
        return AdviceSection(available=False, note=note or "The advisor was not run for this report.")
    labels = labels or {}
    return AdviceSection(
        available=True,
        note=note,
        plan=[_advice_item("plan", s) for s in advice.plan],
        warnings=_grouped("warning", list(advice.warnings), labels),
        blockers=_grouped("blocker", list(advice.blockers), labels),
        questions=_grouped("question", list(advice.questions), labels),
    )


def load_advice(session: Session) -> tuple[Advice | None, str]:
    """The session's advice (`Session.advise`); a failure is said in the report rather than stopping it."""
    from shrinkwise.compression.errors import ShrinkwiseError

    try:
        return session.advise(), ""
    except ShrinkwiseError as exc:
        return None, f"The advisor could not read this project: {exc}"


# --- experiments and plots ---------------------------------------------------------------------------------------


def pareto_ids(points: list[tuple[str, float, float]]) -> set[str]:
    """Ids on the front of (cost x, quality y) points: the one Pareto rule (`workspace.figures.pareto_front`)."""
    flags = pareto_front([(x, y) for _, x, y in points])
    return {pid for (pid, _, _), on in zip(points, flags, strict=True) if on}


def build_plots(project: Project, focus: Experiment | None) -> list[ScatterPlot]:
    ymetric = _quality_metric(project)
    ylabel = "Accuracy (%)" if ymetric == "accuracy" else f"{metric_label(ymetric)} with the original (%)"
    finished = [e for e in project.experiments if e.status == "finished" and e.kind in ("baseline", *CANDIDATE_KINDS)]
    base_acc = pick(project.baseline, "accuracy")
    y_lines: list[BudgetLine] = []
    drop = project.budget.accuracy_drop_pts
    if ymetric == "accuracy" and base_acc is not None and isinstance(drop, (int, float)):
        y_lines.append(
            BudgetLine(axis="y", value=base_acc.value * 100 - float(drop), label=f"accuracy budget (−{drop:g} pts)")
        )
    dis = project.budget.max_disagreement_pct
    if ymetric in ("top1_agreement", "decision_agreement", "nn_agreement") and isinstance(dis, (int, float)):
        y_lines.append(BudgetLine(axis="y", value=100 - float(dis), label=f"agreement budget ({100 - dis:g} %)"))
    plots = []
    for pid, title, xmetric, xlabel, scale, bkey, bscale in (
        (
            "tradeoff-size",
            "Quality against file size",
            "size_bytes",
            "File size (kB)",
            1 / 1000,
            "size_mb",
            1e6 / 1000,
        ),
        (
            "tradeoff-latency",
            "Quality against latency",
            "latency_ms_median",
            "Latency, median (ms)",
            1.0,
            "latency_ms",
            1.0,
        ),
    ):
        pts: list[PlotPoint] = []
        for e in finished:
            x, y = pick(e, xmetric), pick(e, ymetric)
            if x is None or y is None:
                continue
            pts.append(
                PlotPoint(
                    id=e.id,
                    label=e.label or e.id,
                    x=x.value * scale,
                    y=y.value * 100,
                    source=x.source,
                    focus=focus is not None and e.id == focus.id,
                    baseline=e.kind == "baseline",
                )
            )
        front = pareto_ids([(p.id, p.x, p.y) for p in pts])
        for p in pts:
            p.pareto = p.id in front
        lines = list(y_lines)
        limit = getattr(project.budget, bkey)
        if isinstance(limit, (int, float)) and not isinstance(limit, bool):
            lines.insert(
                0,
                BudgetLine(
                    axis="x", value=float(limit) * bscale, label=f"{'size' if bkey == 'size_mb' else 'latency'} budget"
                ),
            )
        sources = sorted({p.source for p in pts})
        note = (
            "x: "
            + ", ".join(
                {"host": "measured on this computer", "device": "measured on the device", "estimate": "estimated"}[s]
                for s in sources
            )
            if sources
            else "nothing measured yet"
        )
        if xmetric == "latency_ms_median" and "host" in sources and not target_is_host(project):
            note += " (latency on this computer is not the target's)"
        note += "; quality: measured on this computer"
        plots.append(
            ScatterPlot(
                id=pid,
                title=title,
                x_label=xlabel,
                y_label=ylabel,
                x_metric=xmetric,
                y_metric=ymetric,
                points=pts,
                budget_lines=lines,
                note=note,
            )
        )
    return plots


def build_experiments(session: Session, focus: Experiment | None, plots: list[ScatterPlot]) -> list[ExperimentInfo]:
    project = session.project
    host = target_is_host(project)
    front = {p.id for plot in plots[:1] for p in plot.points if p.pareto}
    pfile = project_file_name(session.path)
    headline = _quality_metric(project)
    out = []
    for e in project.experiments:
        shown = (*KEY_METRICS, *(() if headline in KEY_METRICS else (headline,)))  # the headline, whatever its task
        figs = [figure(m) for metric in shown if (m := pick(e, metric)) is not None]
        device = [figure(m) for m in e.measurements if m.source == "device"]
        checks = budget_checks(project, e, host) if e.status == "finished" and e.kind != "sensitivity" else []
        details = e.error_details or ""
        if len(details) > ERROR_DETAILS_CHARS:
            details = "…" + details[-ERROR_DETAILS_CHARS:]
        out.append(
            ExperimentInfo(
                id=e.id,
                label=e.label or e.id,
                kind=e.kind,
                group=e.group,
                status=e.status,
                recipe=[
                    StepInfo(
                        technique=s.technique,
                        config=compact_json({k: v for k, v in s.config.items() if k != "technique"}),
                    )
                    for s in e.recipe
                ],
                figures=figs,
                device_figures=device,
                error=e.error,
                error_details=details,
                artifacts=[
                    ArtifactInfo(
                        path=a.path, size_bytes=a.size_bytes, sha256=a.sha256, summary=a.summary, notes=list(a.notes)
                    )
                    for a in e.artifacts
                ],
                on_pareto_front=e.id in front,
                meets_budgets=tri_all([c.met for c in checks]) if checks else None,
                is_focus=focus is not None and e.id == focus.id,
                command=recreate_command(pfile, e),
            )
        )
    return out


def _rows(base: dict[str, float], cand: dict[str, float]) -> list[DeltaRow]:
    def key(k: str) -> tuple[int, Any]:
        return (0, int(k)) if k.lstrip("-").isdigit() else (1, k)

    rows = []
    for k in sorted(set(base) | set(cand), key=key):
        b, c = base.get(k), cand.get(k)
        rows.append(
            DeltaRow(
                name=k, baseline=b, candidate=c, delta_pts=None if b is None or c is None else round((c - b) * 100, 4)
            )
        )
    return rows


def build_deltas(project: Project, focus: Experiment | None) -> DeltasSection:
    base = project.baseline
    if focus is None or focus.quality is None or base is None or base.quality is None:
        return DeltasSection(note="No candidate with quality details to compare with the original.")
    bq, cq = base.quality, focus.quality
    note = ""
    if not cq.per_class_accuracy:
        note = "No per-class accuracy: the evaluation data has no labels."
    elif not cq.per_subgroup_accuracy:
        note = "No subgroups in the data: add a 'groups' array to see per-subgroup results."
    return DeltasSection(
        candidate_id=focus.id,
        candidate_label=focus.label or focus.id,
        per_class=_rows(bq.per_class_accuracy, cq.per_class_accuracy),
        per_subgroup=_rows(bq.per_subgroup_accuracy, cq.per_subgroup_accuracy),
        note=note,
    )


def build_autopilot(project: Project) -> AutopilotSection | None:
    """The newest climb as the CLI and the GUI timeline tell it (the same words: `journal.STATUS_TEXT`)."""
    if not project.autopilot:
        return None
    j = project.autopilot[-1]
    rungs = [
        AutopilotRung(
            index=None if r.action == "skip" else r.index,
            title=r.title,
            status=r.status_word,
            figures=", ".join(r.figures.phrases()),
            verdict=r.verdict or (r.error or ""),
            notes=r.notes,
            why=r.why,
            next=r.next,
        )
        for r in j.rungs
    ]
    return AutopilotSection(
        journal_id=j.id,
        status=j.status,
        status_text=j.status_text,
        stopped_because=j.stopped_because,
        final_id=j.final,
        final_label=j.final_label,
        time_budget_s=j.time_budget_s,
        rungs=rungs,
    )


def build_sensitivity(project: Project) -> SensitivitySection:
    latest = project.latest_sensitivity()
    if latest is None:
        return SensitivitySection(
            note="No sensitivity analysis has been run: 'shrinkwise sensitivity PROJECT' ranks the layers."
        )
    e, result = latest
    items = result.most_sensitive()
    rows = [
        SensitivityRow(
            rank=i + 1,
            layer=k,
            drop=v,
            drop_text=f"{v * 100:+.2f} points" if result.in_points else f"{v:+.4g}",
        )
        for i, (k, v) in enumerate(items[:MAX_SENSITIVITY_ROWS])
    ]
    metric = "quality drop when only this layer is quantized"
    more = f"; {len(items) - len(rows)} more not shown" if len(items) > len(rows) else ""
    return SensitivitySection(experiment_id=e.id, rows=rows, note=f"{metric} (measured on this computer){more}")


def _layer_times(prof: Any) -> list[LayerTime]:
    total = prof.node_time_total_us or sum(l.time_us or 0.0 for l in prof.layers) or 1.0
    return [
        LayerTime(
            name=l.name,
            op_type=l.op_type,
            time_us=round(l.time_us or 0.0, 3),
            share_pct=round((l.time_us or 0.0) / total * 100, 2),
        )
        for l in prof.top_by_time(SLOWEST_LAYERS)
    ]


def _cache_dir(session: Session) -> Path:
    return session.artifacts / "report-cache"


def candidate_profile(session: Session, exp: Experiment) -> Any:
    """The candidate's per-layer profile, computed once and cached beside the artifacts (keyed by its hash)."""
    from shrinkwise.compression.profile_types import ModelProfile

    art = exp.final_artifact
    if art is None:
        return None
    cache = _cache_dir(session) / f"profile-{art.sha256[:16]}.json"
    if cache.exists():
        try:
            return ModelProfile.model_validate_json(cache.read_text(encoding="utf-8"))
        except ValueError:
            pass
    from shrinkwise.compression.measure.latency import batch_one_feed
    from shrinkwise.compression.profile import profile_model
    from shrinkwise.workspace.atomic import atomic_write_text

    evaluation = session.datasets()["evaluation"]
    assert evaluation is not None
    prof = profile_model(session.resolve(art.path), batch_one_feed(evaluation))
    try:
        atomic_write_text(cache, prof.model_dump_json(indent=1))
    except OSError:
        pass
    return prof


def build_layers(session: Session, focus: Experiment | None, compute: bool) -> LayersSection:
    before = session.cached_profile()
    section = LayersSection(before=_layer_times(before) if before else [])
    notes = []
    if before is not None:
        notes.append(before.timing_note or "per-node times from ONNX Runtime's profiler")
    else:
        notes.append("The original has not been profiled: 'shrinkwise profile PROJECT'.")
    if focus is not None and focus.kind != "baseline" and focus.final_artifact is not None:
        section.candidate_id = focus.id
        cached = (_cache_dir(session) / f"profile-{focus.final_artifact.sha256[:16]}.json").exists()
        if compute or cached:
            try:
                prof = candidate_profile(session, focus)
                section.after = _layer_times(prof) if prof else []
            except Exception as exc:  # a candidate that cannot be profiled still gets a report
                notes.append(f"the candidate could not be profiled ({exc.__class__.__name__})")
        else:
            notes.append("the candidate was not profiled for this report")
    section.note = "; ".join(n for n in notes if n) + "; all times measured on this computer"
    return section


def _pixels(sample: Any) -> list[list[float]] | None:
    import numpy as np

    a = np.asarray(sample, dtype=np.float64).squeeze()
    if a.ndim != 2 or a.shape[0] > 32 or a.shape[1] > 32 or a.size == 0:
        return None
    lo, hi = float(a.min()), float(a.max())
    a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return [[round(float(v), 3) for v in row] for row in a]


def _answer(scores: Any) -> str:
    """One sample's answer: the top class, or the value itself for a single probability (0.51 vs 0.49)."""
    import numpy as np

    return f"{float(scores[0]):.3g}" if np.size(scores) == 1 else str(int(np.argmax(scores)))


def disagreement_examples(session: Session, exp: Experiment, indices: list[int]) -> list[DisagreementExample]:
    """True label, both models' answers and a thumbnail for a few inputs whose answer changed (cached)."""
    art = exp.final_artifact
    assert art is not None
    cache = _cache_dir(session) / f"disagreements-{art.sha256[:16]}-{session.require_model().onnx_sha256[:16]}.json"
    if cache.exists():
        try:
            raw = json.loads(cache.read_text(encoding="utf-8"))
            if raw.get("indices") == indices:
                return [DisagreementExample.model_validate(x) for x in raw["examples"]]
        except ValueError:
            pass
    import numpy as np

    from shrinkwise.compression.measure.runtime import quality_session, run_outputs
    from shrinkwise.workspace.atomic import atomic_write_text

    evaluation = session.datasets()["evaluation"]
    assert evaluation is not None
    idx = np.asarray([i for i in indices if 0 <= i < len(evaluation)], dtype=np.int64)
    if idx.size == 0:
        return []
    sub = evaluation.subset(idx)
    # The output the disagreements were counted on (the primary one: class scores after a box output, say).
    originals = run_outputs(quality_session(session.onnx_path)[0], sub)
    primary = exp.quality.primary_output if exp.quality and exp.quality.primary_output in originals else None
    name = primary or next(iter(originals))
    task = next((o.task for o in exp.quality.outputs if o.output == name), None) if exp.quality else None
    answers = task in (None, "classification", "binary")  # an embedding's "answer" is its nearest neighbour
    orig = originals[name]
    cand = run_outputs(quality_session(session.resolve(art.path))[0], sub)[name]
    first = sub.samples_first(next(iter(sub.inputs)))
    out = []
    for j, i in enumerate(idx.tolist()):
        out.append(
            DisagreementExample(
                index=int(i),
                label=None if sub.labels is None else str(int(sub.labels[j])),
                original=_answer(orig[j]) if orig.ndim == 2 and answers else None,
                candidate=_answer(cand[j]) if cand.ndim == 2 and answers else None,
                pixels=_pixels(first[j]),
            )
        )
    try:
        atomic_write_text(
            cache,
            json.dumps({"indices": indices, "examples": [x.model_dump(mode="json") for x in out]}, sort_keys=True),
        )
    except OSError:
        pass
    return out


def build_disagreements(session: Session, focus: Experiment | None, compute: bool) -> DisagreementsSection:
    if focus is None or focus.quality is None:
        return DisagreementsSection(note="No candidate with quality details.")
    q = focus.quality
    section = DisagreementsSection(candidate_id=focus.id, total=len(q.disagreements), samples=q.samples)
    if not q.disagreements:
        section.note = "No evaluation input changed its answer." if q.samples else "Agreement was not measured."
        return section
    indices = list(q.disagreements[:MAX_DISAGREEMENT_EXAMPLES])
    if compute:
        try:
            section.examples = disagreement_examples(session, focus, indices)
        except Exception as exc:  # missing data files, a broken artifact: list the indices, say why
            section.note = f"details unavailable ({exc.__class__.__name__}); "
            section.examples = [DisagreementExample(index=i) for i in indices]
    else:
        section.examples = [DisagreementExample(index=i) for i in indices]
    section.note += f"Indices are positions in the evaluation set ({q.data_source} data); showing {len(section.examples)} of {len(q.disagreements)}."
    return section


def build_warnings(
    project: Project, advice: AdviceSection, focus: Experiment | None, layers_note: str = ""
) -> list[UnresolvedWarning]:
    out = []
    for item in advice.blockers + advice.warnings:
        if not item.resolved:
            out.append(
                UnresolvedWarning(
                    origin="advisor",
                    ref=join_names(item.about) if item.about else item.rule_id,
                    message=" ".join(x for x in (f"{item.title}:" if item.title else "", item.what, item.do) if x),
                )
            )
    for d in project.data:
        for w in d.health.warnings if d.health else []:
            out.append(UnresolvedWarning(origin="data", ref=d.path, message=f"{w.severity}: {w.message}"))
    for e in project.experiments:
        if e.status in ("failed", "cancelled", "interrupted"):
            out.append(
                UnresolvedWarning(
                    origin="run",
                    ref=e.label or e.id,
                    message=f"{e.label or e.id} {status_label(e.status).lower()}: "
                    + (e.error or STATUS_HELP.get(e.status, "no error recorded")),
                )
            )
    if focus is not None:
        for a in focus.artifacts:
            for n in a.notes:
                out.append(UnresolvedWarning(origin="artifact", ref=focus.label or focus.id, message=n))
        if not target_is_host(project) and pick(focus, "latency_ms_median", "device") is None:
            out.append(
                UnresolvedWarning(
                    origin="run",
                    ref=focus.label or focus.id,
                    message="Latency was measured on this computer only; "
                    "run 'shrinkwise bundle' and 'shrinkwise import-results' to measure it on the device.",
                )
            )
    return out


def build_reproducibility(
    session: Session, focus: Experiment | None, experiments: list[ExperimentInfo]
) -> Reproducibility:
    p = session.project
    s = p.split
    versions = focus.final_artifact.lineage.versions if focus is not None and focus.final_artifact else {}
    return Reproducibility(
        project_file=project_file_name(session.path),
        model_sha256=p.model.sha256 if p.model else "",
        onnx_sha256=p.model.onnx_sha256 if p.model else "",
        data=[KeyValue(key=f"{d.path} ({d.role})", value=d.sha256) for d in p.data],
        split=f"seed {s.seed}, {s.evaluation_fraction * 100:g} % evaluation, {s.calibration_count} calibration samples",
        versions=_kv(versions),
        report_versions=_kv(library_versions()),
        commands=[KeyValue(key=e.id, value=e.command, label=e.label) for e in experiments if e.status == "finished"],
    )


def build_report(
    session: Session,
    advice: Advice | None = None,
    use_advisor: bool = True,
    compute: bool = True,
) -> ReportData:
    """Everything the report shows. `advice`: given (e.g. read from `shrinkwise advise --json`), else the session's.

    `compute=False` skips the two things that run models (candidate profile, disagreement answers) unless cached.
    """
    project = session.project
    note = ""
    if advice is None and use_advisor:
        advice, note = load_advice(session)
    advice_sec = advice_section(advice, note, {e.id: e.label or e.id for e in project.experiments})
    verdict, focus = build_verdict(project, advice.decision if advice is not None else None)
    plots = build_plots(project, focus)
    experiments = build_experiments(session, focus, plots)
    layers = build_layers(session, focus, compute)
    return ReportData(
        title=f"Shrinkwise report: {project.name}",
        project_name=project.name,
        as_of=max(
            [project.created] + [t for e in project.experiments for t in (e.created, e.started, e.finished) if t]
        ),
        notes=project.notes,
        verdict=verdict,
        model=build_model(session),
        target=[
            kv.model_copy(update={"label": "Device profile" if kv.key == "id" else key_label(kv.key)})
            for kv in _kv({"id": project.target.id, **project.target.overrides} if project.target.id else {})
        ],
        budget=budget_rows(project.budget.model_dump(exclude_none=True)),
        data=build_data(project),
        advice=advice_sec,
        experiments=experiments,
        plots=plots,
        deltas=build_deltas(project, focus),
        sensitivity=build_sensitivity(project),
        autopilot=build_autopilot(project),
        layers=layers,
        disagreements=build_disagreements(session, focus, compute),
        warnings=build_warnings(project, advice_sec, focus),
        reproducibility=build_reproducibility(session, focus, experiments),
    )
