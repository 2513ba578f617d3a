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

from compression.errors import TechniqueError
from gui import theme

HIDDEN = ("technique", "version")


def technique_schema(technique: str) -> dict[str, Any]:
    from compression.catalog import technique_module

    return technique_module(technique).Config.model_json_schema()


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` / single `anyOf` member (Optional fields) to the concrete property schema."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return {**schema.get("$defs", {}).get(name, {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        concrete = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(concrete) == 1:
            return {**_resolve(schema, concrete[0]), **{k: v for k, v in prop.items() if k != "anyOf"}, "nullable": True}
    return prop


def _needs_text(prop: dict[str, Any]) -> bool:
    """Very small or very large numbers do not fit a spin box's fixed decimals: type them."""
    values = [v for v in (prop.get("default"), prop.get("minimum"), prop.get("exclusiveMinimum")) if isinstance(v, (int, float)) and v]
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
            label = QLabel(prop.get("title") or name.replace("_", " ").capitalize())
            label.setToolTip(desc)
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
            spin.setRange(int(prop.get("minimum", prop.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in prop else -2**31 + 1)),
                          int(prop.get("maximum", 2**31 - 1)))
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
        """The settings that differ from the defaults, checked by the technique's Config."""
        from compression.catalog import technique_module
        from pydantic import ValidationError

        try:
            raw = self.all_values()
        except ValueError as exc:
            raise TechniqueError(f"a setting of {self.technique} is not valid: {exc}", fix="correct the value in the settings form") from None
        try:
            technique_module(self.technique).Config.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise TechniqueError(f"setting '{where}' of {self.technique}: {err['msg']}", fix="correct it in the settings form") from None
        out = {}
        for k, v in raw.items():
            prop = _resolve(self.schema, self.schema["properties"][k])
            default = prop.get("default", [] if prop.get("type") == "array" else {} if prop.get("type") == "object" else None)
            if v != default:
                out[k] = v
        return out


class ConfigDialog(QDialog):
    def __init__(self, technique: str, title: str, values: dict[str, Any] | None, parent: QWidget | None = None) -> None:
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
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
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
