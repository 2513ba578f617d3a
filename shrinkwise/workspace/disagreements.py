"""The inputs on which a candidate answers differently from the original: what Compare's "Changed answers" tab
shows. `Session.disagreements()` builds it, so the GUI never reads the project's data sets itself."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ChangedAnswers:
    """A candidate's recorded disagreements with the original and the first `len(indices)` of those inputs.

    `total` of `samples` evaluation inputs changed answer; `indices` are their positions in the evaluation set (those
    still inside it, up to the limit asked for), `inputs` the first input's sample at each (samples first), `labels`
    the true label where the data has one, and `images` says whether the samples look like images (H×W of at least
    4×4), so a view can draw them rather than list them."""

    candidate_id: str
    total: int = 0
    samples: int = 0
    indices: list[int] = field(default_factory=list)
    inputs: list[np.ndarray] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    images: bool = False
