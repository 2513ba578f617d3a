"""Settings forms generated from a technique's pydantic `Config` JSON schema: one field documented once.

Each property becomes a widget by its schema type (enum → combo box, boolean → check box, integer/number → spin
box with the schema's bounds, array of strings → comma-separated text, object → JSON text); its description is
the tooltip and the line under the label. `values()` returns only what differs from the defaults, validated by the
Config itself so a bad value is refused with the field's name before anything runs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.gui import theme
from shrinkwise.gui.formatting import setting_label
from shrinkwise.gui.help_text import tooltip_for

HIDDEN = ("technique", "version")


def technique_schema(technique: str) -> dict[str, Any]:
    from shrinkwise.compression.catalog import technique_module

    return technique_module(technique).Config.model_json_schema()


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` / single `anyOf` member (Optional fields) to the concrete property schema."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return {**schema.get("$defs", {}).get(name, {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        concrete = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(concrete) == 1:
            return {
                **_resolve(schema, concrete[0]),
                **{k: v for k, v in prop.items() if k != "anyOf"},
                "nullable": True,
            }
    return prop


def _needs_text(prop: dict[str, Any]) -> bool:
    """Very small or very large numbers do not fit a spin box's fixed decimals: type them."""
    values = [
        v
        for v in (prop.get("default"), prop.get("minimum"), prop.get("exclusiveMinimum"))
        if isinstance(v, (int, float)) and v
    ]
    return any(abs(v) < 1e-3 or abs(v) >= 1e7 for v in values)


class FloatEdit(QLineEdit):
    """A number typed as text (1e-07 stays 1e-07)."""


class ConfigForm(QWidget):
    """A form for one technique's settings."""

    def __init__(self, technique: str, values: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.technique = technique
        self.schema = technique_schema(technique)
        self.fields: dict[str, tuple[QWidget, dict[str, Any]]] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        values = dict(values or {})
        for name, raw in self.schema.get("properties", {}).items():
            if name in HIDDEN:
                continue
            prop = _resolve(self.schema, raw)
            widget = self._widget(prop)
            desc = prop.get("description", "")
            widget.setToolTip(desc)
            widget.setObjectName(name)
            self._set(widget, prop, values.get(name, prop.get("default")))
            label = QLabel(setting_label(name))  # the words of workspace.labels; the key itself in the tooltip
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setToolTip(
                tooltip_for(f"{name} {desc}", f"{desc}\n\nSetting: {name}" if desc else f"Setting: {name}")
            )
            holder = QWidget()
            col = QVBoxLayout(holder)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(1)
            col.addWidget(widget)
            if desc:
                hint = QLabel(desc)
                hint.setWordWrap(True)
                hint.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
                col.addWidget(hint)
            layout.addRow(label, holder)
            self.fields[name] = (widget, prop)

    @staticmethod
    def _widget(prop: dict[str, Any]) -> QWidget:
        kind = prop.get("type")
        if "enum" in prop:
            combo = QComboBox()
            for v in prop["enum"]:
                combo.addItem(str(v), v)
            return combo
        if kind == "boolean":
            return QCheckBox()
        if kind == "integer":
            spin = QSpinBox()
            spin.setRange(
                int(
                    prop.get(
                        "minimum", prop.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in prop else -(2**31) + 1
                    )
                ),
                int(prop.get("maximum", 2**31 - 1)),
            )
            return spin
        if kind == "number" and _needs_text(prop):
            edit = FloatEdit()
            edit.setPlaceholderText(f"a number, e.g. {prop.get('default')}")
            return edit
        if kind == "number":
            spin = QDoubleSpinBox()
            lo = prop.get("minimum", prop.get("exclusiveMinimum", -1e12))
            hi = prop.get("maximum", prop.get("exclusiveMaximum", 1e12))
            spin.setDecimals(6)
            spin.setRange(float(lo), float(hi))
            default = prop.get("default")
            step = 10 ** math.floor(math.log10(abs(default))) if isinstance(default, (int, float)) and default else 0.1
            spin.setSingleStep(step)
            return spin
        edit = QLineEdit()
        if kind == "array":
            edit.setPlaceholderText("comma-separated, e.g. a, b")
        elif kind == "object":
            edit.setPlaceholderText('JSON, e.g. {"key": 1}')
        return edit

    @staticmethod
    def _set(widget: QWidget, prop: dict[str, Any], value: Any) -> None:
        if isinstance(widget, QComboBox):
            i = widget.findData(value)
            widget.setCurrentIndex(max(i, 0))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            if value is not None:
                widget.setValue(value)
        elif isinstance(widget, FloatEdit):
            widget.setText("" if value is None else repr(float(value)))
        elif isinstance(widget, QLineEdit):
            if prop.get("type") == "array":
                widget.setText(", ".join(str(v) for v in (value or [])))
            elif prop.get("type") == "object":
                widget.setText(json.dumps(value) if value else "")
            else:
                widget.setText("" if value is None else str(value))

    @staticmethod
    def _get(widget: QWidget, prop: dict[str, Any]) -> Any:
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            return widget.value()
        assert isinstance(widget, QLineEdit)
        text = widget.text().strip()
        if isinstance(widget, FloatEdit):
            return None if not text and prop.get("nullable") else float(text)
        if prop.get("type") == "array":
            items = [t.strip() for t in text.split(",") if t.strip()]
            item_type = (prop.get("items") or {}).get("type")
            if item_type == "integer":
                return [int(t) for t in items]
            if item_type == "number":
                return [float(t) for t in items]
            return items
        if prop.get("type") == "object":
            return json.loads(text) if text else {}
        if not text and prop.get("nullable"):
            return None
        return text

    def all_values(self) -> dict[str, Any]:
        return {name: self._get(w, prop) for name, (w, prop) in self.fields.items()}

    def values(self) -> dict[str, Any]:
        """The settings that differ from the defaults, checked by the technique's Config (one line naming the
        setting and what it takes, as the CLI and the runner say it: `compression.catalog.technique_config`)."""
        from shrinkwise.compression.catalog import technique_config

        try:
            raw = self.all_values()
        except ValueError as exc:
            raise TechniqueError(
                f"a setting of {self.technique} is not valid: {exc}", fix="correct the value in the settings form"
            ) from None
        technique_config(self.technique, raw)
        out = {}
        for k, v in raw.items():
            prop = _resolve(self.schema, self.schema["properties"][k])
            default = prop.get(
                "default", [] if prop.get("type") == "array" else {} if prop.get("type") == "object" else None
            )
            if v != default:
                out[k] = v
        return out


class ConfigDialog(QDialog):
    def __init__(
        self, technique: str, title: str, values: dict[str, Any] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Settings: {title}")
        self.resize(560, 520)
        layout = QVBoxLayout(self)
        intro = QLabel("Hover a setting for its explanation. The defaults are a safe start.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.form = ConfigForm(technique, values)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        layout.addWidget(scroll, 1)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {theme.severity('error')};")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # an error may quote what the user typed
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout.addWidget(buttons)
        self.result_values: dict[str, Any] | None = None

    def _defaults(self) -> None:
        for _name, (w, prop) in self.form.fields.items():
            ConfigForm._set(w, prop, prop.get("default"))

    def _accept(self) -> None:
        try:
            self.result_values = self.form.values()
        except TechniqueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()


def sweepable_fields(technique: str) -> dict[str, dict[str, Any]]:
    """Settings a sweep can vary: numbers, integers and choices (not lists or free text)."""
    schema = technique_schema(technique)
    out = {}
    for name, raw in schema.get("properties", {}).items():
        if name in HIDDEN:
            continue
        prop = _resolve(schema, raw)
        if "enum" in prop or prop.get("type") in ("integer", "number"):
            out[name] = prop
    return out


def suggested_values(prop: dict[str, Any]) -> list[Any]:
    """A first ladder of values for a setting: every choice, or a few around the default within the bounds."""
    if "enum" in prop:
        return list(prop["enum"])
    default = prop.get("default")
    lo = prop.get("minimum", prop.get("exclusiveMinimum"))
    hi = prop.get("maximum", prop.get("exclusiveMaximum"))
    if not isinstance(default, (int, float)) or isinstance(default, bool):
        return []
    if prop.get("type") == "integer":
        values = sorted({max(int(lo if lo is not None else 1), default // 2), default, default * 2})
    else:
        values = [round(default / 2, 6), default, round(default * 2, 6)]
    return [v for v in values if (lo is None or v >= lo) and (hi is None or v <= hi)]


def parse_values(prop: dict[str, Any], text: str) -> list[Any]:
    """'2, 4, 8' → [2, 4, 8] in the setting's type; an unknown choice is refused with the known ones."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise TechniqueError("a sweep needs at least two values", fix="type them separated by commas, e.g. 2, 4, 8")
    out: list[Any] = []
    for t in items:
        if "enum" in prop:
            match = [v for v in prop["enum"] if str(v) == t]
            if not match:
                raise TechniqueError(
                    f"'{t}' is not one of the choices", fix=f"use: {', '.join(str(v) for v in prop['enum'])}"
                )
            out.append(match[0])
        elif prop.get("type") == "integer":
            try:
                out.append(int(t))
            except ValueError:
                raise TechniqueError(
                    f"'{t}' is not a whole number", fix="type whole numbers separated by commas"
                ) from None
        else:
            try:
                out.append(float(t))
            except ValueError:
                raise TechniqueError(f"'{t}' is not a number", fix="type numbers separated by commas") from None
    if len(out) < 2:
        raise TechniqueError("a sweep needs at least two values", fix="type them separated by commas, e.g. 2, 4, 8")
    return out


class SweepDialog(QDialog):
    """Pick one setting of a technique and the values to try: one run per value, compared on one curve."""

    def __init__(self, technique: str, title: str, base: dict[str, Any] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.technique = technique
        self.base = dict(base or {})
        self.setWindowTitle(f"Sweep: {title}")
        self.fields = sweepable_fields(technique)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Run this technique once per value of one setting, to see how quality changes with it. "
            "The other settings stay as they are."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.key = QComboBox()
        for name, prop in self.fields.items():
            self.key.addItem(setting_label(name), name)
            self.key.setItemData(self.key.count() - 1, prop.get("description", ""), Qt.ItemDataRole.ToolTipRole)
        self.values_edit = QLineEdit()
        self.values_edit.setToolTip("Values separated by commas")
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.muted()}; font-size: 9pt;")
        form.addRow("Setting:", self.key)
        form.addRow("Values:", self.values_edit)
        form.addRow("", self.hint)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {theme.severity('error')};")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.key.currentIndexChanged.connect(self._on_key)
        self.result_key: str | None = None
        self.result_values: list[Any] = []
        self._on_key()

    def _on_key(self) -> None:
        name = self.key.currentData()
        prop = self.fields.get(name, {})
        self.values_edit.setText(", ".join(str(v) for v in suggested_values(prop)))
        self.hint.setText(prop.get("description", ""))

    def set_sweep(self, key: str, values: str) -> None:
        self.key.setCurrentIndex(max(0, self.key.findData(key)))
        self.values_edit.setText(values)

    def _accept(self) -> None:
        from shrinkwise.compression.catalog import technique_config

        name = self.key.currentData()
        try:
            values = parse_values(self.fields[name], self.values_edit.text())
            for v in values:
                technique_config(self.technique, {**self.base, name: v})
        except TechniqueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.result_key, self.result_values = name, values
        self.accept()
