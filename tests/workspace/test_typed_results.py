"""Typed results across layers: the sensitivity analysis's `SensitivityResult` and the results table's `ResultRow`.

A project saved before the model existed still loads and reads the same; a malformed stored result is the project's
own one-line error; `shrinkwise results --json` prints the same JSON as when the rows were dicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.workspace.cli import main
from shrinkwise.workspace.facts import results_facts
from shrinkwise.workspace.project import load_project
from shrinkwise.workspace.report.build import build_sensitivity
from shrinkwise.workspace.report.model import recreate_command
from shrinkwise.workspace.result_row import ResultRow
from shrinkwise.workspace.runs import latest_sensitivity, results
from shrinkwise.workspace.sensitivity_model import SensitivityResult
from shrinkwise.workspace.session import Session


def _old_extra() -> dict[str, Any]:
    """`extra` exactly as the first sensitivity analysis (commit ada98dd) wrote it: no paired latency ratio, no
    latency cost, no per-layer SQNR, no `layer_error`, no `not_ranked`."""
    full = {"quality": 0.62, "drop": 0.3, "size_bytes": 30000.0, "latency_ms": 0.05, "sqnr_db": 11.0}
    first = {"quality": 0.915, "drop": 0.005, "size_bytes": 52000.0, "latency_ms": 0.06, "sqnr_db": 28.0}
    ranking = [
        {
            "node": "/conv1/Conv",
            "op_type": "Conv",
            "weight_bytes": 2304,
            "drop_alone": 0.25,
            "recovery": 0.28,
            "sqnr_alone_db": 14.0,
            "size_cost_bytes": 22000.0,
        },
        {
            "node": "/fc/Gemm",
            "op_type": "Gemm",
            "weight_bytes": 40960,
            "drop_alone": 0.01,
            "recovery": 0.02,
            "sqnr_alone_db": 30.0,
            "size_cost_bytes": 1200.0,
        },
    ]
    return {
        "technique": "int8_static",
        "metric": "accuracy",
        "tolerance": 0.01,
        "original_quality": 0.92,
        "sensitivity": {r["node"]: r["drop_alone"] for r in ranking},
        "ranking": ranking,
        "all_quantized": full,
        "curve": [
            {"keep_float": [], **full, "source": "pass1"},
            {"keep_float": ["/conv1/Conv"], **first, "source": "pass1"},
        ],
        "proposal": {
            "keep_float": ["/conv1/Conv"],
            "quality": 0.915,
            "drop": 0.005,
            "meets_tolerance": True,
            "size_bytes": 52000.0,
            "latency_ms": 0.06,
            "config": {"nodes_to_exclude": ["/conv1/Conv"], "per_channel": True},
        },
    }


def _with_sensitivity(project: Path, extra: dict[str, Any]) -> Path:
    """The project file with one finished sensitivity experiment carrying `extra`, written as an old version
    would have (straight JSON, not through the model)."""
    raw = json.loads(project.read_text())
    raw["experiments"].append(
        {
            "id": "sensitivity-old",
            "label": "Sensitivity (int8_static, tolerance 0.01)",
            "kind": "sensitivity",
            "recipe": [{"technique": "int8_static", "config": {"nodes_to_exclude": ["/conv1/Conv"]}}],
            "status": "finished",
            "extra": extra,
        }
    )
    project.write_text(json.dumps(raw))
    return project


def test_an_old_shape_sensitivity_result_loads_and_every_reader_reads_it(demo_project: Path) -> None:
    path = _with_sensitivity(demo_project, _old_extra())
    session = Session.open(path)
    exp, result = session.project.latest_sensitivity() or (None, None)
    assert exp is not None and exp.id == "sensitivity-old" and result is not None
    assert result.ranking[0].node == "/conv1/Conv" and result.ranking[0].latency_cost_ms is None
    assert result.ranking[0].activation_sqnr_db is None and result.layer_error is None and result.not_ranked == []
    assert result.curve[1].keep_float == ["/conv1/Conv"] and result.curve[1].latency_ratio is None
    assert result.proposal.base_config() == {"per_channel": True} and result.proposal.note is None
    # What mixed precision, the report, the advisor's facts and the recreate command read from it.
    assert latest_sensitivity(session) == {"/conv1/Conv": 0.25, "/fc/Gemm": 0.01}
    section = build_sensitivity(session.project)
    assert section.experiment_id == "sensitivity-old"
    assert [(r.layer, r.drop_text) for r in section.rows] == [
        ("/conv1/Conv", "+25.00 points"),
        ("/fc/Gemm", "+1.00 points"),
    ]
    facts = results_facts(session.project)
    assert facts["sensitivity_done"] and facts["sensitive_layers"] == ["/conv1/Conv", "/fc/Gemm"]
    command = recreate_command("p.shrinkwise.json", exp)
    assert command == (
        "shrinkwise sensitivity p.shrinkwise.json --accuracy-drop-pts 1 --technique int8_static --set per_channel=true"
    )
    # Stored again, the JSON keeps the old keys (no `note`, no `layer_error` appear from nowhere).
    assert SensitivityResult.model_validate(_old_extra()).to_extra().keys() == _old_extra().keys() | {"not_ranked"}
    assert set(result.to_extra()["proposal"]) == set(_old_extra()["proposal"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda x: x.pop("proposal"), "proposal"),
        (lambda x: x["proposal"].update(keep_float="/conv1/Conv"), "proposal.keep_float"),
        (lambda x: x["ranking"][1].update(drop_alone="a lot"), "ranking.1.drop_alone"),
    ],
)
def test_a_malformed_sensitivity_result_is_one_project_error(
    demo_project: Path, change: Any, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = _old_extra()
    change(extra)
    path = _with_sensitivity(demo_project, extra)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    assert "experiment 'sensitivity-old'" in text and f"field '{field}'" in text and "sensitivity" in info.value.fix
    # The CLI says the same in one line and exits 2, like any bad project file.
    assert main(["results", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"field '{field}'" in err


# The JSON keys of one candidate in `shrinkwise results --json`, in order, as they were when rows were dicts.
RESULTS_JSON_KEYS = [
    "id",
    "label",
    "kind",
    "group",
    "original",
    "size_bytes",
    "encoded_size_bytes",
    "latency_ms_median",
    "latency_source",
    "latency_ms_p90",
    "latency_ratio",
    "accuracy",
    "agreement",
    "sqnr_db",
    "quality_metric",
    "quality",
    "per_class_delta",
    "pareto_size",
    "pareto_latency",
    "recommended",
    "misses_budget",
]


def test_results_rows_are_typed_and_the_json_keeps_its_shape(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(demo_project), "fp16", "--quiet"]) == 0
    assert main(["budget", str(demo_project), "--size-mb", "0.01"]) == 0  # one budget fp16 misses
    capsys.readouterr()
    session = Session.open(demo_project)
    rows = results(session)
    assert all(isinstance(r, ResultRow) for r in rows) and [r.original for r in rows] == [True, False]
    base, fp16 = rows
    exp = session.project.experiment(fp16.id)
    # Every number is the one `Experiment.measurement` picks.
    for field, metric in [
        ("size_bytes", "size_bytes"),
        ("latency_ms_median", "latency_ms_median"),
        ("accuracy", "accuracy"),
    ]:
        m = exp.measurement(metric)
        assert m is not None and getattr(fp16, field) == m.value
    assert fp16.latency_source == exp.measurement("latency_ms_median").source  # type: ignore[union-attr]
    assert fp16.quality_metric == base.quality_metric == "accuracy" and fp16.quality == fp16.accuracy
    assert fp16.pareto_size and all(isinstance(v, float) for v in fp16.per_class_delta.values())
    # A row is validated and read-only: a misspelt field or a wrong type is refused, not carried along.
    with pytest.raises(ValidationError):
        ResultRow.model_validate({**fp16.model_dump(), "size_byte": 1})
    with pytest.raises(ValidationError):
        ResultRow.model_validate({**fp16.model_dump(), "quality": "high"})
    with pytest.raises(ValidationError):
        fp16.size_bytes = 1.0  # type: ignore[misc]

    assert main(["results", str(demo_project), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["recommendation", "candidates"]
    assert [list(c) for c in out["candidates"]] == [RESULTS_JSON_KEYS, RESULTS_JSON_KEYS]
    decision = session.recommendation()
    for row, printed in zip(rows, out["candidates"], strict=True):
        assert printed == {
            **row.model_dump(mode="json"),
            "recommended": row.id == decision.candidate,
            "misses_budget": decision.misses_budget(row.id),
        }
    printed_fp16 = out["candidates"][1]
    assert printed_fp16["misses_budget"] and printed_fp16["recommended"] is False
    assert isinstance(printed_fp16["size_bytes"], float) and printed_fp16["latency_source"] == "host"
