"""What each wizard step is for, in plain words (the F1 help, the step list's tooltips and the Start page), and the
glossary of the words a newcomer may not know (Help > Glossary and the tooltips on labels that use them)."""

from __future__ import annotations

import html
import re
from typing import Any

HELP = {
    "Start": "Create a project (File > New), open one, or try the demo. A project is one .shrinkwise.json file with a "
    "folder beside it; everything you decide on the next pages is saved in it (Ctrl+S). "
    "You can drop a model file anywhere on the window.",
    "Model": "What was loaded: format, inputs, size and parameters, and the per-layer profile. Sort or filter the table; "
    "click an op-type bar to show only those layers, or choose 'Largest layers' / 'Slowest layers' and click a "
    "bar to select that layer. The largest and slowest layers are where compression pays off most.",
    "Target": "Pick the device the model must run on; its abilities are explained in plain words (for example whether "
    "int8 math is fast there). Then set what the model must fit into: latency, file size, memory, and how "
    "much accuracy you can give up. The original model's own numbers are shown next to each budget.",
    "Data": "Evaluation data measures quality (held out, with labels if you have them). Calibration data (a few hundred "
    "typical inputs) sets int8 ranges. Training data is needed only by steps that train. One file can serve "
    "all three: Shrinkwise splits it. The health summary warns about problems before anything runs.",
    "Advice": "The advisor's plan, in order, with why each step is suggested, what to expect, what it needs, and where "
    "the advice comes from. Answer the questions to sharpen it. Untick steps to drop them, add techniques "
    "with 'Add', and change a step's settings with 'Settings…' (hover a setting for its meaning).",
    "Run": "Each selected step runs in its own process; the window stays usable. Watch progress, time left, curves and "
    "the log. 'Cancel' stops one run, 'Cancel All' stops everything. Every finished run is saved at once.",
    "Compare": "Every candidate against the original: size or latency against quality, with your budget as dotted lines "
    "and the best trade-offs (the Pareto front) in orange. Select a candidate to see per-class and "
    "per-subgroup changes and the inputs where it now answers differently. Then 'Ship This Candidate'.",
    "Export": "Write the chosen model (ONNX + model card), the report (HTML or PDF) for your team, and the benchmark "
    "bundle to measure the model on the real device.",
}


def steps_html() -> str:
    """The eight steps, one line each (the first sentence of each step's help)."""
    rows = "".join(
        f"<tr><td style='padding:3px 8px 3px 0'><b>{i}. {name}</b></td><td style='padding:3px 0'>"
        f"{html.escape(text.split('. ')[0].rstrip('.'))}.</td></tr>"
        for i, (name, text) in enumerate(HELP.items(), start=1)
    )
    return f"<table>{rows}</table>"


# --- the glossary -----------------------------------------------------------------------------------------------
# One dict: the Help > Glossary window lists it, and `tooltip_for` puts the same words on every label and column
# header that uses a term, so a newcomer can hover any unfamiliar word.
GLOSSARY: dict[str, str] = {
    "QDQ": "Quantize/DeQuantize: the int8 model keeps float operators and wraps them in pairs of small nodes that "
    "convert values to int8 and back. Portable: every ONNX Runtime can run it, and fast where int8 kernels exist.",
    "SQNR": "Signal-to-quantization-noise ratio, in dB: how close the compressed model's outputs are to the "
    "original's. Higher is closer; 20 dB means the error is a tenth of the signal, 40 dB a hundredth. "
    "200 dB means the outputs are identical.",
    "MACs": "Multiply-accumulate operations: the arithmetic one inference needs (one multiplication plus one "
    "addition each). A rough measure of how much work a layer is.",
    "per-channel": "Per-channel quantization: each output channel of a weight gets its own scale instead of one "
    "scale for the whole tensor. Usually more accurate, slightly larger.",
    "VNNI": "Vector Neural Network Instructions: CPU instructions (Intel/AMD AVX-512 VNNI or AVX-VNNI, the Arm "
    "equivalent is 'dot product') that multiply int8 numbers quickly. Without them int8 is often no faster "
    "than float.",
    "int8 static": "Static int8 quantization: weights and activations become 8-bit integers, with the activation "
    "ranges fixed in advance from calibration data. Fastest on hardware with int8 math; needs a few hundred "
    "typical inputs.",
    "int8 dynamic": "Dynamic int8 quantization: weights are stored as 8-bit integers; activation ranges are "
    "measured on the fly at run time. Needs no calibration data; helps mostly MatMul-heavy models on CPUs.",
    "int8 storage": "Int8 storage: weights are stored as 8-bit integers in the file and turned back into 32-bit "
    "floats when the model loads. The file is about 4x smaller; speed and memory at run time are the original's.",
    "fp16": "Float16: weights (and math, where the hardware supports it) in 16-bit floating point instead of "
    "32-bit. Halves the file and almost never changes the answers.",
    "palettization": "Palettization (weight clustering): each weight tensor is reduced to a small table of shared "
    "values (2^bits of them) and every weight stores only its index. Saves storage, not time.",
    "pruning": "Pruning: removing weights (unstructured: single weights set to zero) or whole channels "
    "(structured: a thinner, faster model). Usually needs fine-tuning to recover accuracy.",
    "calibration": "Calibration: running a few hundred typical inputs through the model to find the range of "
    "values each activation takes, so that int8 can represent them well.",
    "cosine": "Cosine similarity of the outputs: 1.0 means the compressed model's output vectors point exactly "
    "the same way as the original's. A fidelity check that needs no labels.",
    "agreement": "Top-1 agreement: the share of inputs on which the compressed model gives the same answer (the "
    "top class) as the original. 100 % means no answer changed.",
    "Pareto": "The Pareto front: the candidates nothing else beats on both counts (smaller or faster *and* at "
    "least as good). Only these are worth choosing between; the rest are dominated.",
    "sensitivity": "Sensitivity analysis: quantizing one layer at a time to see which layers lose the most "
    "quality. The most sensitive ones can be kept in float at little cost.",
    "keep in float": "Layers kept in float: layers left at full 32-bit precision while the rest of the model is "
    "quantized, because quantizing them costs too much quality.",
    "points": "Percentage points: the plain difference of two percentages. 99.4 % → 98.4 % is a drop of 1.0 point.",
}

# Other spellings of a term, as they appear in labels (matched case-insensitively, on word boundaries).
_ALIASES: dict[str, tuple[str, ...]] = {
    "QDQ": ("QDQ",),
    "SQNR": ("SQNR",),
    "MACs": ("MACs", "MAC"),
    "per-channel": ("per-channel", "per channel"),
    "VNNI": ("VNNI",),
    "int8 static": ("int8 static", "static int8", "int8_static"),
    "int8 dynamic": ("int8 dynamic", "dynamic int8", "int8_dynamic"),
    "int8 storage": ("int8 storage", "int8_storage"),
    "fp16": ("fp16", "float16"),
    "palettization": ("palettization", "palettize", "palettized", "palettes"),
    "pruning": ("pruning", "prune_unstructured", "prune_structured", "pruned"),
    "calibration": ("calibration", "calibrated", "calibrate"),
    "cosine": ("cosine",),
    "agreement": ("agreement",),
    "Pareto": ("Pareto",),
    "sensitivity": ("sensitivity", "sensitive layers"),
    "keep in float": ("keep in float", "kept in float", "keep-in-float"),
    "points": ("points", "pts"),
}
_PATTERNS = {
    term: re.compile(r"(?<![\w-])(" + "|".join(re.escape(a) for a in aliases) + r")(?![\w-])", re.IGNORECASE)
    for term, aliases in _ALIASES.items()
}


def terms_in(text: str) -> list[str]:
    """The glossary terms a text uses, in glossary order."""
    plain = re.sub(r"<[^>]+>", " ", text or "")
    return [term for term in GLOSSARY if _PATTERNS[term].search(plain)]


def tooltip_for(text: str, extra: str = "") -> str:
    """A tooltip explaining every glossary term in `text` ('' when there is none), after `extra` if given."""
    return with_glossary(extra, text)


def _glossary_lines() -> list[str]:
    return [f"{term}: {text}" for term, text in GLOSSARY.items()]


def with_glossary(own: str, text: str) -> str:
    """`own` tooltip (glossary lines added earlier taken out) followed by the explanation of each term in `text`.

    Calling it again on its own result gives the same tooltip, so pages can re-explain after every refresh."""
    from PySide6.QtGui import Qt

    own = own or ""
    rich = bool(own) and Qt.mightBeRichText(own)
    for line in _glossary_lines():
        own = own.replace(f"<p>{html.escape(line, quote=False)}</p>", "").replace(line, "")
    own = own.strip()
    lines = [f"{term}: {GLOSSARY[term]}" for term in terms_in(text)]
    if not lines:
        return own
    if rich:
        return own + "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines)
    return "\n\n".join(([own] if own else []) + lines)


def explain(widget: Any, text: str | None = None, extra: str = "") -> None:
    """Give a label, button or header item the glossary tooltip for the terms its text uses (keeps its own tip)."""
    own = extra or (widget.toolTip() if hasattr(widget, "toolTip") else "")
    tip = with_glossary(own, text if text is not None else widget.text())
    if tip:
        widget.setToolTip(tip)


def explain_all(root: Any) -> None:
    """Glossary tooltips on everything a page shows with a term in it: labels, buttons, group boxes, tabs, table and
    tree headers, combo box choices. The window calls it when a page is shown, so every page (whoever wrote it)
    explains its words the same way."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QTableWidget,
        QTabWidget,
        QTreeWidget,
    )

    def label_text(w: QLabel) -> str:
        return re.sub(r"<[^>]+>", " ", w.text())

    for w in root.findChildren(QLabel):
        if w.text():
            w.setToolTip(with_glossary(w.toolTip(), label_text(w)))
    for w in root.findChildren(QAbstractButton):
        if w.text():
            w.setToolTip(with_glossary(w.toolTip(), w.text()))
    for w in root.findChildren(QGroupBox):
        w.setToolTip(with_glossary(w.toolTip(), w.title()))
    for w in root.findChildren(QTabWidget):
        for i in range(w.count()):
            w.setTabToolTip(i, with_glossary(w.tabToolTip(i), w.tabText(i)))
    for w in root.findChildren(QComboBox):
        for i in range(w.count()):
            tip = w.itemData(i, Qt.ItemDataRole.ToolTipRole)
            w.setItemData(i, with_glossary(str(tip or ""), w.itemText(i)), Qt.ItemDataRole.ToolTipRole)
    for w in root.findChildren(QTableWidget):
        for c in range(w.columnCount()):
            h = w.horizontalHeaderItem(c)
            if h is not None:
                h.setToolTip(with_glossary(h.toolTip(), h.text()))
    for w in root.findChildren(QTreeWidget):
        head = w.headerItem()
        for c in range(w.columnCount()):
            head.setToolTip(c, with_glossary(head.toolTip(c), head.text(c)))


def glossary_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:4px 12px 4px 0; vertical-align:top'><b>{html.escape(term)}</b></td>"
        f"<td style='padding:4px 0'>{html.escape(text)}</td></tr>"
        for term, text in sorted(GLOSSARY.items(), key=lambda kv: kv[0].lower())
    )
    return f"<table>{rows}</table>"


def glossary_dialog(parent: Any = None) -> Any:
    """Help > Glossary: every term in plain words, searchable by scrolling (a dialog, not a modal box)."""
    from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

    dialog = QDialog(parent)
    dialog.setWindowTitle("Glossary")
    dialog.resize(620, 560)
    layout = QVBoxLayout(dialog)
    view = QTextBrowser()
    view.setObjectName("glossary")
    view.setHtml("<h3>Words used in Shrinkwise</h3>" + glossary_html())
    layout.addWidget(view, 1)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return dialog


def show_glossary(parent: Any) -> Any:
    """Open the glossary beside the window (not modal: it can stay open while you work); one per window."""
    dialog = getattr(parent, "_glossary_dialog", None)
    if dialog is None:
        dialog = glossary_dialog(parent)
        parent._glossary_dialog = dialog
    dialog.show()
    dialog.raise_()
    return dialog


def install_glossary_tips(window: Any) -> Any:
    """Explain glossary terms on hover everywhere in `window`, also in text a page changed after it was shown
    (an application event filter that refreshes a widget's tooltip just before Qt shows it)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QAbstractButton, QApplication, QGroupBox, QLabel

    class GlossaryTips(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.ToolTip and isinstance(obj, (QLabel, QAbstractButton, QGroupBox)):
                if window.isAncestorOf(obj):
                    text = obj.title() if isinstance(obj, QGroupBox) else re.sub(r"<[^>]+>", " ", obj.text())
                    obj.setToolTip(with_glossary(obj.toolTip(), text))
            return False

    tips = GlossaryTips(window)
    QApplication.instance().installEventFilter(tips)
    return tips


def explains(method: Any) -> Any:
    """Decorate a page's method that changes its text: glossary tooltips follow the new text when it returns."""
    import functools

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            explain_all(self)

    return wrapper
