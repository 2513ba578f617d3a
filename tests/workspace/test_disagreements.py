"""`Session.disagreements()`: the inputs a candidate answers differently on, read from the project's own data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shrinkwise.workspace.session import Session


def _with_changed_answers(session: Session, indices: list[int]) -> str:
    base = session.project.baseline
    assert base is not None and base.quality is not None
    exp = base.model_copy(
        update={"id": "run-x", "kind": "run", "quality": base.quality.model_copy(update={"disagreements": indices})}
    )
    session.project.experiments.append(exp)
    return exp.id


def test_disagreements_are_the_evaluation_inputs_at_the_recorded_indices(demo_project: Path) -> None:
    session = Session.open(demo_project)
    exp_id = _with_changed_answers(session, [7, 2, 10_000_000, 4])
    evaluation = session.datasets()["evaluation"]
    assert evaluation is not None and evaluation.labels is not None
    x = evaluation.samples_first(next(iter(evaluation.inputs)))

    changed = session.disagreements(exp_id, limit=2)
    assert changed.candidate_id == exp_id
    assert changed.total == 4  # every recorded disagreement counts, shown or not
    assert changed.samples == session.project.experiment(exp_id).quality.samples  # type: ignore[union-attr]
    assert changed.indices == [7, 2]  # in the recorded order, the limit applied after out-of-range ones are dropped
    assert [int(v) for v in changed.labels] == [int(evaluation.labels[7]), int(evaluation.labels[2])]  # type: ignore[arg-type]
    np.testing.assert_array_equal(changed.inputs[0], x[7])
    assert changed.images  # the demo's digits are pictures

    everything = session.disagreements(exp_id)
    assert everything.indices == [7, 2, 4]


def test_no_disagreements_for_an_unknown_or_unchanged_candidate(demo_project: Path) -> None:
    session = Session.open(demo_project)
    assert session.disagreements("nope").indices == []
    exp_id = _with_changed_answers(session, [])
    same = session.disagreements(exp_id)
    assert same.total == 0 and same.indices == [] and same.samples > 0 and not same.images
