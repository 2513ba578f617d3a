"""Property-based fuzzing of the project loader: 10,000 mutations of a real saved project.

Whatever the file holds, `load_project` either returns a project whose every path stays inside its folder (and
which saves back to a file that loads), or raises the project's own one-line `ProjectFileError`; nothing else
ever escapes (no RecursionError, ValueError, UnicodeError, PydanticSerializationError, ...).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.workspace import containment
from shrinkwise.workspace.project import Project, load_project

HOSTILE_STRINGS = [
    "../../a",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a/../../b",
    "\ud800",
    "x\x00y",
    "model/../../../tmp/evil.py:Net",
    "/dev/zero",
    "0" * 64,
    "A" * 64,
    "run-" + "é" * 10,
    "C:\\\\windows",
]
HOSTILE_VALUES: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    2**70,
    -1,
    True,
    None,
    [],
    {},
    {"$ref": "x"},
    "9" * 400,
]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from(HOSTILE_VALUES),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the JSON tree (the root excluded)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*trail, k))
            out.extend(_paths(v, (*trail, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*trail, i))
            out.extend(_paths(v, (*trail, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn, raw: dict[str, Any], places: list[tuple[Any, ...]]) -> str:
    doc = copy.deepcopy(raw)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(places))
        parent: Any = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            key = where[-1]
            action = draw(st.sampled_from(["replace", "delete", "hostile_string", "nest"]))
            if action == "delete":
                del parent[key]
            elif action == "hostile_string":
                parent[key] = draw(st.sampled_from(HOSTILE_STRINGS))
            elif action == "nest":
                parent[key] = _nested(draw(st.integers(40, 900)))
            else:
                parent[key] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this place
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    cut = draw(st.sampled_from([None, None, None, None, "truncate", "flip"]))
    if cut == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == "flip":
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(['"', "{", "]", "\\", "\x00", "9" * 5000, ","])) + text[i + 1 :]
    return text


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.slow
def test_loader_lets_only_project_file_errors_escape(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz") / "demo"
    shutil.copytree(demo_template, folder)
    path = next(folder.glob("*.shrinkwise.json"))
    raw = json.loads(path.read_text())
    places = _paths(raw)
    outcomes = {"loaded": 0, "refused": 0}

    @settings(
        max_examples=10_000,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated(raw, places))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            project = load_project(path)
        except ProjectFileError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
            return
        outcomes["loaded"] += 1
        for field, rel in containment.project_paths(project):
            assert containment.inside(folder, rel) is not None, (field, rel)
        for e in project.experiments:
            assert containment.SAFE_ID.match(e.id), e.id
        Project.model_validate_json(project.model_dump_json())  # what loads also saves and loads again

    check()
    assert outcomes["loaded"] > 100 and outcomes["refused"] > 1000, outcomes
