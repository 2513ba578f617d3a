"""The Advice page: the plan as cards in order, questions answered inline, warnings and blockers, and the choice of
what to run (drop steps, add techniques, change their settings in forms generated from their config schemas).

The page only shows and collects; the window hands answers to the session and recomputes the advice at once.
What the user changed in the plan is the project's typed `plan` (`workspace.project.PlanEdits`):
{"dropped": [step keys], "added": [{"technique", "config"}], "configs": {step key: config}}.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.gui import dialogs, theme
from shrinkwise.gui.autopilot_panel import AutopilotPanel
from shrinkwise.gui.formatting import setting_label
from shrinkwise.gui.unset_spin import UnsetSpinBox


def step_key(step: Any) -> str:
    """The plan step's key (`PlanStep.key`): the one naming of steps that plan edits use."""
    return str(step.key)


def once_per_rule(statements: list[Any]) -> list[tuple[Any, int]]:
    """Each rule's first statement with how many more candidates it also fired for (in first-seen order)."""
    firsts: dict[str, Any] = {}
    more: dict[str, int] = {}
    for st in statements:
        if st.rule_id in firsts:
            more[st.rule_id] += 1
        else:
            firsts[st.rule_id], more[st.rule_id] = st, 0
    return [(firsts[k], more[k]) for k in firsts]


def _label(text: str, style: str = "", rich: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
    )
    label.setOpenExternalLinks(True)
    if style:
        label.setStyleSheet(style)
    return label


def sources_html(sources: list[Any]) -> str:
    from shrinkwise.gui.advising import confidence_words

    parts = []
    for s in sources:
        name = html.escape(s.source)
        if s.url:
            name = f"<a style='color:{theme.severity('info')}' href='{html.escape(s.url)}'>{name}</a>"
        note = f" ({html.escape(s.note)})" if getattr(s, "note", "") else ""  # e.g. "not checked against its full text"
        parts.append(f"{name} — <i>{html.escape(confidence_words(s.confidence))}</i>{note}")
    return "Source: " + "; ".join(parts) if parts else ""


class Card(QFrame):
    def __init__(self, accent: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setStyleSheet(
            f"QFrame#card {{ border: 1px solid {theme.card_border()}; border-left: 4px solid {accent}; "
            f"border-radius: 4px; background: {theme.card_background()}; }}"
        )
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(10, 6, 10, 6)
        self.body.setSpacing(3)


class AdvicePage(QWidget):
    answered = Signal(str, object)  # fact path, value
    plan_changed = Signal()  # dropped / added / settings changed (stored by the window in the project)
    run_requested = Signal(list)  # [{"steps": [{"technique", "config"}], "label": str}]
    sweep_requested = Signal(dict)  # {"technique", "key", "values", "config"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.advice: Any = None
        self.state: dict[str, Any] = {"dropped": [], "added": [], "configs": {}}
        self.targets: dict[str, Any] = {}
        self.candidate_labels: dict[str, str] = {}  # experiment id -> its label: cards name candidates, not ids
        self.checks: dict[str, QCheckBox] = {}
        self.question_widgets: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        top = QHBoxLayout()
        title = QLabel("Advice")
        title.setStyleSheet(theme.title_css())
        top.addWidget(title)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        top.addWidget(self.headline, 1)
        outer.addLayout(top)
        self.autopilot = AutopilotPanel()  # one button that climbs the ladder; its timeline below it
        outer.addWidget(self.autopilot)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.scroll, 1)
        bottom = QHBoxLayout()
        self.chain_check = QCheckBox("Chain the steps (one candidate)")
        self.chain_check.setToolTip(
            "Off: each selected step makes its own candidate from the original, so you can compare them.\n"
            "On: the steps are chained into a single recipe."
        )
        bottom.addWidget(self.chain_check)
        bottom.addStretch(1)
        self.add_combo = QComboBox()
        self.add_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_combo.setMinimumContentsLength(14)  # long technique titles must not widen the window
        self.add_combo.setToolTip("Add a technique the plan does not include")
        self.add_button = QPushButton("Add Technique")
        self.add_button.clicked.connect(self._add_technique)
        bottom.addWidget(QLabel("Add:"))
        bottom.addWidget(self.add_combo)
        bottom.addWidget(self.add_button)
        self.run_button = QPushButton("Run the Selected Steps")
        self.run_button.setDefault(True)
        self.run_button.setStyleSheet("font-weight: bold; padding: 4px 12px;")
        self.run_button.clicked.connect(self._run)
        bottom.addWidget(self.run_button)
        outer.addLayout(bottom)
        self._fill_catalog()
        self.show_message("Open a project with a model to get advice.")

    def _fill_catalog(self) -> None:
        from shrinkwise.compression.catalog import load_catalog

        self.catalog = load_catalog()
        for tid, entry in self.catalog.items():
            self.add_combo.addItem(entry.get("title", tid), tid)
            self.add_combo.setItemData(
                self.add_combo.count() - 1, entry.get("summary", ""), Qt.ItemDataRole.ToolTipRole
            )

    # --- state ---------------------------------------------------------------------------------------------------

    def set_state(self, state: dict[str, Any] | None) -> None:
        state = dict(state or {})
        self.state = {
            "dropped": list(state.get("dropped", [])),
            "added": list(state.get("added", [])),
            "configs": dict(state.get("configs", {})),
        }

    def show_message(self, text: str) -> None:
        self.advice = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(_label(f"<span style='color:{theme.muted()}; font-size: 12pt'>{html.escape(text)}</span>"))
        layout.addStretch(1)
        self.scroll.setWidget(body)
        self.headline.setText("")
        self.checks.clear()
        self.run_button.setEnabled(False)
        self.add_button.setEnabled(False)

    def entries(self) -> list[dict[str, Any]]:
        """The runnable steps shown (advisor's plan, then the user's additions), each with key/technique/config/included."""
        out = []
        if self.advice is not None:
            for s in self.advice.plan:
                if not s.technique or not s.in_app:
                    continue
                key = step_key(s)
                out.append(
                    {
                        "key": key,
                        "technique": s.technique,
                        "title": s.name,
                        "config": dict(self.state["configs"].get(key, s.config)),
                        "included": key not in self.state["dropped"],
                        "blocked": bool(s.blocked_by),
                    }
                )
        for i, a in enumerate(self.state["added"]):
            key = f"added:{i}"
            out.append(
                {
                    "key": key,
                    "technique": a["technique"],
                    "title": self.catalog.get(a["technique"], {}).get("title", a["technique"]),
                    "config": dict(self.state["configs"].get(key, a.get("config", {}))),
                    "included": key not in self.state["dropped"],
                    "blocked": False,
                }
            )
        return out

    def selected(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["included"] and not e["blocked"]]

    # --- building the cards --------------------------------------------------------------------------------------

    def show_advice(self, advice: Any) -> None:
        self.advice = advice
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setSpacing(8)
        self.checks.clear()
        self.question_widgets.clear()
        fz = advice.feasibility
        head = f"For <b>{html.escape(advice.target_name)}</b>."
        if fz.worst_gap is not None and fz.binding_metric != "none":
            head += f" The model must shrink about <b>{fz.worst_gap:.2g}×</b> on {fz.binding_metric}."
        if fz.reachable_post_training is True:
            head += " Post-training steps can reach the budget (best case)."
        elif fz.reachable_post_training is False:
            head += f" <span style='color:{theme.severity('high')}'>Post-training steps alone cannot reach the budget.</span>"
        self.headline.setText(head)

        decision = advice.decision
        if decision.status != "no_candidate":  # the one recommendation, as Compare, Export and the report state it
            layout.addWidget(self._section("Which candidate to ship"))
            colour = theme.severity("good" if decision.status == "recommended" else "medium")
            box = _label(
                f"<b>{html.escape(decision.headline)}</b><br>{html.escape(decision.paragraph[len(decision.headline) :].strip())}"
            )
            box.setStyleSheet(f"border-left: 4px solid {colour}; padding: 4px 8px;")
            layout.addWidget(box)
        if advice.blockers:
            layout.addWidget(self._section("Blockers — these stop steps from running as planned"))
            for b in advice.blockers:
                layout.addWidget(self._statement_card(b, theme.severity("high")))
        if advice.questions:
            layout.addWidget(self._section("Questions — your answers update the advice at once"))
            for q in advice.questions:
                layout.addWidget(self._question_card(q))
        layout.addWidget(self._section("The plan, in order"))
        if not advice.plan and not self.state["added"]:
            layout.addWidget(
                _label(
                    f"<span style='color:{theme.muted()}'>No steps yet: answer the questions above "
                    "(the device and the budget above all), or add a technique below.</span>"
                )
            )
        for s in advice.plan:
            layout.addWidget(self._plan_card(s))
        for i, a in enumerate(self.state["added"]):
            layout.addWidget(self._added_card(i, a))
        for e in advice.estimates:
            layout.addWidget(_label(f"<span style='color:{theme.muted()}'>Estimate: {html.escape(e)}</span>"))
        if advice.warnings:
            layout.addWidget(self._section("Warnings and notes"))
            for w, more in once_per_rule(advice.warnings):  # a rule about several candidates is one card
                card = self._statement_card(w, theme.severity(w.severity))
                if more:
                    card.body.addWidget(
                        _label(
                            f"<span style='color:{theme.muted()}'>The same holds for {more} more "
                            f"candidate{'s' if more > 1 else ''}.</span>"
                        )
                    )
                layout.addWidget(card)
        layout.addStretch(1)
        old = self.scroll.verticalScrollBar().value()
        self.scroll.setWidget(body)
        self.scroll.verticalScrollBar().setValue(old)
        self.add_button.setEnabled(True)
        self._update_run_button()

    @staticmethod
    def _section(text: str) -> QLabel:
        return _label(f"<b style='font-size: 11pt'>{html.escape(text)}</b>")

    def _what_why(self, card: Card, s: Any) -> None:
        card.body.addWidget(_label(html.escape(s.what)))
        if s.why:
            card.body.addWidget(_label(f"<span style='color:{theme.muted()}'><b>Why:</b> {html.escape(s.why)}</span>"))
        if s.do:
            card.body.addWidget(_label(f"<b>What to do:</b> {html.escape(s.do)}"))

    def _source(self, card: Card, s: Any) -> None:
        text = sources_html(s.sources)
        if text:
            src = _label(
                f"<span style='color:{theme.muted()}; font-size: 9pt'>{text} · rule <code>{html.escape(s.rule_id)}</code></span>"
            )
            src.setToolTip("\n\n".join(p.claim for p in s.sources))
            card.body.addWidget(src)

    def _statement_card(self, s: Any, accent: str) -> Card:
        card = Card(accent)
        card.setProperty("rule_id", s.rule_id)
        sev = f"<span style='color:{accent}'>{html.escape(s.severity)}</span>"
        who = self.candidate_labels.get(s.subject, s.subject) if s.subject else ""
        subject = f" — about {html.escape(who)}" if who else ""
        card.body.addWidget(_label(f"<b>{html.escape(s.title)}</b> &nbsp;<small>{sev}{subject}</small>"))
        self._what_why(card, s)
        self._source(card, s)
        return card

    def _plan_card(self, s: Any) -> Card:
        runnable = bool(s.technique) and s.in_app
        accent = theme.severity("high" if s.blocked_by else "info" if runnable else "low")
        card = Card(accent)
        card.setProperty("rule_id", s.rule_id)
        key = step_key(s)
        row = QHBoxLayout()
        if runnable:
            check = QCheckBox(f"{s.position}. {s.name}")
            check.setStyleSheet("font-weight: bold;")
            check.setChecked(key not in self.state["dropped"] and not s.blocked_by)
            check.setEnabled(not s.blocked_by)
            check.setToolTip("Untick to drop this step from the run")
            check.toggled.connect(lambda on, k=key: self._toggle(k, on))
            self.checks[key] = check
            row.addWidget(check)
        else:
            kind = "you do this step yourself" if not s.in_app else "Shrinkwise shows this on another page"
            row.addWidget(
                _label(
                    f"<b>{s.position}. {html.escape(s.name)}</b> &nbsp;<small style='color:{theme.muted()}'>({kind})</small>"
                )
            )
        row.addStretch(1)
        if runnable:
            button = QPushButton("Settings…")
            button.setToolTip("Change this technique's settings (each explained)")
            button.clicked.connect(lambda _c=False, k=key, t=s.technique, n=s.name: self._edit_settings(k, t, n))
            row.addWidget(button)
            sweep = QPushButton("Sweep…")
            sweep.setToolTip("Run it several times, one value of a setting each, and plot quality against that setting")
            sweep.clicked.connect(lambda _c=False, k=key, t=s.technique, n=s.name: self._sweep(k, t, n))
            row.addWidget(sweep)
        card.body.addLayout(row)
        self._what_why(card, s)
        if s.expected:
            card.body.addWidget(_label(f"<b>Expected effect:</b> {html.escape(s.expected)}"))
        if s.needs:
            needs = ", ".join(
                (
                    f"<span style='color:{theme.severity('high')}'>{html.escape(n)} (missing)</span>"
                    if any(m.split()[0] in n for m in s.missing)
                    else html.escape(n)
                )
                for n in s.needs
            )
            card.body.addWidget(_label(f"<b>Needs:</b> {needs}"))
        config = self.state["configs"].get(key, s.config)
        if config:
            card.body.addWidget(
                _label(
                    f"<span style='color:{theme.muted()}'>Settings: {html.escape(', '.join(f'{setting_label(k)}: {v}' for k, v in config.items()))}</span>"
                )
            )
        if s.blocked_by:
            card.body.addWidget(
                _label(
                    f"<span style='color:{theme.severity('high')}'>Blocked by: {html.escape(', '.join(s.blocked_by))}</span>"
                )
            )
        self._source(card, s)
        return card

    def _added_card(self, i: int, a: dict[str, Any]) -> Card:
        key = f"added:{i}"
        entry = self.catalog.get(a["technique"], {})
        card = Card(theme.severity("info"))
        row = QHBoxLayout()
        check = QCheckBox(f"+ {entry.get('title', a['technique'])}")
        check.setStyleSheet("font-weight: bold;")
        check.setChecked(key not in self.state["dropped"])
        check.toggled.connect(lambda on, k=key: self._toggle(k, on))
        self.checks[key] = check
        row.addWidget(check)
        row.addStretch(1)
        settings = QPushButton("Settings…")
        title = entry.get("title", a["technique"])
        settings.clicked.connect(lambda _c=False, k=key, t=a["technique"], n=title: self._edit_settings(k, t, n))
        sweep = QPushButton("Sweep…")
        sweep.setToolTip("Run it several times, one value of a setting each, and plot quality against that setting")
        sweep.clicked.connect(lambda _c=False, k=key, t=a["technique"], n=title: self._sweep(k, t, n))
        row.addWidget(sweep)
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda _c=False, idx=i: self._remove_added(idx))
        row.addWidget(settings)
        row.addWidget(remove)
        card.body.addLayout(row)
        card.body.addWidget(_label(html.escape(entry.get("summary", ""))))
        needs = [k for k, v in entry.get("needs", {}).items() if v]
        if needs:
            card.body.addWidget(_label(f"<b>Needs:</b> {html.escape(', '.join(n.replace('_', ' ') for n in needs))}"))
        config = self.state["configs"].get(key, a.get("config", {}))
        if config:
            card.body.addWidget(
                _label(
                    f"<span style='color:{theme.muted()}'>Settings: {html.escape(', '.join(f'{setting_label(k)}: {v}' for k, v in config.items()))}</span>"
                )
            )
        card.body.addWidget(
            _label(
                f"<span style='color:{theme.muted()}; font-size: 9pt'>Added by you (not part of the advisor's plan).</span>"
            )
        )
        return card

    def _question_card(self, q: Any) -> Card:
        from shrinkwise.gui.advising import fact_kind

        card = Card(theme.severity("medium"))
        card.setProperty("fact", q.fact)
        card.body.addWidget(_label(f"<b>{html.escape(q.title)}</b>"))
        card.body.addWidget(_label(html.escape(q.what)))
        if q.why:
            card.body.addWidget(
                _label(f"<span style='color:{theme.muted()}'><b>Why it matters:</b> {html.escape(q.why)}</span>")
            )
        row = QHBoxLayout()
        kind = "choice" if q.choices else fact_kind(q.fact)
        if kind == "bool":
            for text, value in (("Yes", True), ("No", False)):
                b = QPushButton(text)
                b.clicked.connect(lambda _c=False, v=value, f=q.fact: self.answered.emit(f, v))
                row.addWidget(b)
            self.question_widgets[q.fact] = b
        else:
            if kind in ("choice", "target"):
                editor: QWidget = QComboBox()
                if kind == "target":
                    for t in sorted(self.targets.values(), key=lambda t: t.name.lower()):
                        editor.addItem(t.name, t.id)  # type: ignore[attr-defined]
                else:
                    for c in q.choices:
                        editor.addItem(c.replace("_", " "), c)  # type: ignore[attr-defined]
                get = editor.currentData  # type: ignore[attr-defined]
            elif kind == "int":
                editor = QSpinBox()
                editor.setRange(0, 10_000_000)  # type: ignore[attr-defined]
                editor.setValue(200)  # type: ignore[attr-defined]
                get = editor.value  # type: ignore[attr-defined]
            else:
                editor = UnsetSpinBox()
                editor.setDecimals(3)  # type: ignore[attr-defined]
                editor.setRange(0.0, 1e9)  # type: ignore[attr-defined]
                editor.setSpecialValueText("type a number")  # type: ignore[attr-defined]
                editor.setValue(0.0)  # type: ignore[attr-defined]
                editor.setMinimumWidth(130)
                get = editor.value  # type: ignore[attr-defined]
            editor.setToolTip(q.do)
            row.addWidget(editor)
            ok = QPushButton("Answer")
            ok.clicked.connect(lambda _c=False, g=get, f=q.fact, e=editor: self._answer(f, g(), e))
            row.addWidget(ok)
            self.question_widgets[q.fact] = editor
        if q.do:
            row.addWidget(_label(f"<span style='color:{theme.muted()}'>{html.escape(q.do)}</span>"), 1)
        else:
            row.addStretch(1)
        card.body.addLayout(row)
        self._source(card, q)
        return card

    # --- user actions --------------------------------------------------------------------------------------------

    def _answer(self, fact: str, value: Any, editor: QWidget) -> None:
        if isinstance(editor, QDoubleSpinBox) and value <= 0:
            editor.setFocus()
            editor.setToolTip("Type a number above zero first")
            return
        self.answered.emit(fact, value)

    def _toggle(self, key: str, on: bool) -> None:
        dropped = set(self.state["dropped"])
        (dropped.discard if on else dropped.add)(key)
        self.state["dropped"] = sorted(dropped)
        self._update_run_button()
        self.plan_changed.emit()

    def _edit_settings(self, key: str, technique: str, title: str) -> None:
        from shrinkwise.gui.config_form import ConfigDialog

        current = next((e["config"] for e in self.entries() if e["key"] == key), {})
        dialog = ConfigDialog(technique, title, current, self)
        result = dialogs.exec_dialog(dialog)
        if getattr(result, "value", result) != 1 or dialog.result_values is None:
            return
        self.state["configs"][key] = dialog.result_values
        self.plan_changed.emit()
        if self.advice is not None:
            self.show_advice(self.advice)

    def _sweep(self, key: str, technique: str, title: str) -> None:
        from shrinkwise.gui.config_form import SweepDialog

        base = next((e["config"] for e in self.entries() if e["key"] == key), {})
        dialog = SweepDialog(technique, title, base, self)
        result = dialogs.exec_dialog(dialog)
        if getattr(result, "value", result) != 1 or dialog.result_key is None:
            return
        self.sweep_requested.emit(
            {"technique": technique, "key": dialog.result_key, "values": dialog.result_values, "config": base}
        )

    def add_technique(self, technique: str, config: dict[str, Any] | None = None) -> None:
        self.state["added"].append({"technique": technique, "config": dict(config or {})})
        self.plan_changed.emit()
        if self.advice is not None:
            self.show_advice(self.advice)

    def _add_technique(self) -> None:
        tid = self.add_combo.currentData()
        if tid:
            self.add_technique(str(tid))

    def _remove_added(self, index: int) -> None:
        self.state["added"].pop(index)
        # keys of later additions shift down by one
        configs = {}
        for k, v in self.state["configs"].items():
            if k.startswith("added:"):
                i = int(k.split(":")[1])
                if i == index:
                    continue
                k = f"added:{i - 1}" if i > index else k
            configs[k] = v
        self.state["configs"] = configs
        self.state["dropped"] = [k for k in self.state["dropped"] if not k.startswith("added:")]
        self.plan_changed.emit()
        if self.advice is not None:
            self.show_advice(self.advice)

    def _update_run_button(self) -> None:
        n = len(self.selected())
        self.run_button.setEnabled(n > 0)
        self.run_button.setText(f"Run the Selected Steps ({n})" if n else "Run the Selected Steps")

    def _run(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        steps = [{"technique": e["technique"], "config": e["config"]} for e in chosen]
        if self.chain_check.isChecked() and len(steps) > 1:
            self.run_requested.emit([{"steps": steps, "label": " → ".join(e["technique"] for e in chosen)}])
        else:
            self.run_requested.emit(
                [
                    {
                        "steps": [{"technique": e["technique"], "config": e["config"]}],
                        "label": _label_for(
                            e["technique"],
                            self.state["configs"].get(e["key"]) if not e["key"].startswith("added:") else e["config"],
                        ),
                    }
                    for e in chosen
                ]
            )


def _label_for(technique: str, changed: dict[str, Any] | None) -> str:
    """A short run label: the technique, and the settings the user chose (not the plan's own), at most two."""
    if not changed:
        return technique
    short = ", ".join(f"{k}={v}" for k, v in list(changed.items())[:2] if not isinstance(v, (list, dict)))
    return f"{technique} ({short})" if short else technique
