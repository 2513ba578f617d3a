"""What each wizard step is for, in plain words: the F1 help, the step list's tooltips and the Start page."""

from __future__ import annotations

import html

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
