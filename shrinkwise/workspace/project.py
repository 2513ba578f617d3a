"""The saved project: a readable JSON file `NAME.shrinkwise.json` with a sibling folder `NAME.artifacts/`.

Why pydantic: the file is validated on load (a hand-edited typo is refused with the field's name), the JSON schema
comes for free, and the same models serve the CLI, the GUI and the reports. Saves are atomic and keep a `.bak`.
Older schema versions are migrated on load; a newer one is refused rather than half-understood.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.advisor.facts import BudgetFacts
from shrinkwise.compression.data import DataHealth
from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.compression.io_spec import IOSpec
from shrinkwise.compression.measure.records import Measurement, Source, best
from shrinkwise.compression.results import QualityDetails  # the worker's type, recorded as it is
from shrinkwise.compression.signature import InputSignature
from shrinkwise.workspace.journal import Journal
from shrinkwise.workspace.sensitivity_model import SensitivityResult

SCHEMA_VERSION = 3
PROJECT_SUFFIX = ".shrinkwise.json"
ModelFormat = Literal["onnx", "torchscript", "torch_export", "state_dict"]
# "interrupted": left `running` by a process that died (see workspace.store.reconcile_interrupted).
RunStatus = Literal["queued", "running", "finished", "failed", "cancelled", "interrupted"]


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelRef(_Record):
    """The user's model and the ONNX file Shrinkwise measures it through."""

    path: str = Field(description="The model file, relative to the project folder where possible")
    sha256: str
    format: ModelFormat
    signature: InputSignature
    signature_overridden: bool = False
    architecture: str | None = Field(default=None, description="'path/to/file.py:ClassName' for state dicts")
    architecture_sha256: str | None = Field(
        default=None,
        description="The architecture file's sha256 as the user confirmed it (--trust-architecture or the window's "
        "question); its code runs only while the file still has this hash",
    )
    arch_kwargs: dict[str, Any] = Field(default_factory=dict)
    onnx_path: str = Field(description="The ONNX file used for measurement (the model itself if it is ONNX)")
    onnx_sha256: str
    exporter: str | None = Field(default=None, description="How a torch model was turned into ONNX")
    notes: list[str] = Field(
        default_factory=list, description="What intake did to the model (folded Constant weights, checkpoint key, ...)"
    )


class DataRef(_Record):
    path: str
    sha256: str
    kind: Literal["npz", "image_folder", "audio_folder", "audio_npz", "demo"]
    role: Literal["all", "evaluation", "calibration", "training"] = "all"
    samples: int = 0
    health: DataHealth | None = None


class DataSplit(_Record):
    """How a single data file is split; seeded so the same project always gets the same split."""

    seed: int = 0
    calibration_count: int = Field(default=100, ge=1)
    evaluation_fraction: float = Field(default=0.3, gt=0.0, lt=1.0)


class RecipeStep(_Record):
    technique: str
    config: dict[str, Any] = Field(default_factory=dict)


class Lineage(_Record):
    """What produced an artifact: enough to reproduce it or to know it is stale."""

    model_sha256: str
    data_sha256: str | None = None
    recipe: list[RecipeStep] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    created: str = Field(default_factory=utc_now)


class ArtifactRecord(_Record):
    path: str = Field(description="Relative to the project folder")
    format: str = "onnx"
    size_bytes: int
    sha256: str
    summary: str = ""
    encoded_size_bytes: int | None = None
    notes: list[str] = Field(default_factory=list)
    step: int = Field(default=0, description="Index of the recipe step that wrote it")
    op_types: list[str] = Field(default_factory=list, description="Op types of the graph (what a device must run)")
    lineage: Lineage


class TargetChoice(_Record):
    """The device the model must run on: a profile id (`shrinkwise targets`) and fields overriding that profile."""

    id: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)


# The budget is the advisor's own `BudgetFacts`: one definition of what a budget is, validated the same way on the
# CLI, in the GUI and when a project is read.
Budget = BudgetFacts


class PlanEdits(_Record):
    """What the user changed in the advisor's plan: steps dropped, settings changed, techniques added by hand."""

    dropped: list[str] = Field(default_factory=list, description="Plan step keys the user unticked")
    configs: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Edited settings per step key")
    added: list[RecipeStep] = Field(default_factory=list, description="Techniques added to the plan by hand")


class Experiment(_Record):
    """One candidate: the original (baseline) or a compressed model with how it was made and measured."""

    id: str
    label: str = ""
    kind: Literal["baseline", "run", "sweep", "sensitivity"] = "run"
    group: str | None = Field(default=None, description="Sweep or recipe id that several experiments share")
    recipe: list[RecipeStep] = Field(default_factory=list)
    status: RunStatus = "queued"
    created: str = Field(default_factory=utc_now)
    started: str | None = None
    finished: str | None = None
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    measurements: list[Measurement] = Field(default_factory=list)
    quality: QualityDetails | None = None
    error: str | None = None
    error_details: str = ""
    extra: dict[str, Any] = Field(default_factory=dict, description="Technique-specific results (e.g. sensitivity)")

    def measurement(self, metric: str, source: Source | None = None) -> Measurement | None:
        """The number that counts for `metric`: device > host > estimate (`records.best`, the one policy)."""
        return best(self.measurements, metric, source)

    @property
    def final_artifact(self) -> ArtifactRecord | None:
        return self.artifacts[-1] if self.artifacts else None

    def sensitivity_result(self, path: Path | str | None = None) -> SensitivityResult | None:
        """A finished sensitivity analysis's typed result (None for any other experiment); a malformed one is a
        one-line `ProjectFileError` (`path`: the project file, named in it)."""
        if self.kind != "sensitivity" or self.status != "finished":
            return None
        return SensitivityResult.from_extra(self.extra, f"experiment '{self.id}'", path)


class Project(_Record):
    schema_version: int = SCHEMA_VERSION
    name: str
    created: str = Field(default_factory=utc_now)
    model: ModelRef | None = None
    data: list[DataRef] = Field(default_factory=list)
    split: DataSplit = Field(default_factory=DataSplit)
    target: TargetChoice = Field(default_factory=TargetChoice, description="The device the model must run on")
    budget: Budget = Field(default_factory=Budget, description="Latency/size/memory/quality budgets")
    plan: PlanEdits = Field(default_factory=PlanEdits, description="The user's edits of the advisor's plan")
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="Answers to the advisor's other questions, keyed by fact path (budget and target have fields)",
    )
    experiments: list[Experiment] = Field(default_factory=list)
    chosen: str | None = Field(default=None, description="Id of the candidate picked to ship")
    io: IOSpec = Field(
        default_factory=IOSpec,
        description="The data spec the user declared: per input where the samples are (or constant, or state), per "
        "output its task; what is not declared is inferred, with the reason shown",
    )
    autopilot: list[Journal] = Field(default_factory=list, description="Autopilot climbs, oldest first")
    notes: str = ""

    def experiment(self, experiment_id: str) -> Experiment:
        for e in self.experiments:
            if e.id == experiment_id:
                return e
        raise KeyError(experiment_id)

    @property
    def baseline(self) -> Experiment | None:
        return next((e for e in self.experiments if e.kind == "baseline"), None)

    def latest_sensitivity(self) -> tuple[Experiment, SensitivityResult] | None:
        """The newest finished sensitivity analysis and its result (what the panel, report and advisor show)."""
        for e in reversed(self.experiments):
            result = e.sensitivity_result()
            if result is not None:
                return e, result
        return None


# --- files -----------------------------------------------------------------------------------------------------


def project_name_from_path(path: Path) -> str:
    name = Path(path).name
    return name[: -len(PROJECT_SUFFIX)] if name.endswith(PROJECT_SUFFIX) else Path(path).stem


def normalise_project_path(path: Path | str) -> Path:
    """`foo`, `foo.shrinkwise.json` or a folder holding one project all mean the same project file."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob(f"*{PROJECT_SUFFIX}"))
        if len(found) == 1:
            return found[0]
        if not found:
            raise ProjectFileError("no *.shrinkwise.json project in this folder", path, "give the project file's path")
        raise ProjectFileError("several projects in this folder", path, "give the project file's path")
    if not path.name.endswith(PROJECT_SUFFIX):
        path = path.with_name(path.name + PROJECT_SUFFIX)
    return path


def artifacts_dir(project_path: Path) -> Path:
    """The sibling folder holding exported ONNX files, candidates and profiles."""
    project_path = Path(project_path)
    return project_path.with_name(project_name_from_path(project_path) + ".artifacts")


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept budget and target answers, and the wizard's plan edits, in `answers`, beside untyped
    `budget`/`target` dicts; the advisor read the answers while the report read the budget. Version 2 has one typed
    field each. An answer given after the budget was set is the user's latest word, so it wins."""
    raw = dict(raw)
    answers = dict(raw.get("answers") or {})
    target = dict(raw.get("target") or {})
    tid = target.pop("id", None) or target.pop("target_id", None)
    target.pop("target_id", None)
    budget = dict(raw.get("budget") or {})
    plan = answers.pop("wizard_plan", None)
    for key in [k for k in answers if isinstance(k, str) and k.startswith("budget.")]:
        budget[key.removeprefix("budget.")] = answers.pop(key)
    if "target.id" in answers:
        tid = answers.pop("target.id")
    raw["target"] = {"id": tid, "overrides": target}
    raw["budget"] = budget
    raw["answers"] = answers
    if isinstance(plan, dict):
        raw["plan"] = {
            "dropped": list(plan.get("dropped") or []),
            "configs": dict(plan.get("configs") or {}),
            "added": [a for a in plan.get("added") or [] if isinstance(a, dict)],
        }
    return raw


def _migrate_2_to_3(raw: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 only adds fields with defaults (the data spec `io`, the autopilot journals, the architecture's
    sha256). The version moves so that an older Shrinkwise says "saved by a newer Shrinkwise" instead of refusing
    the new fields one by one."""
    return raw


# Each migration takes the JSON of version N and returns version N+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


def migrate(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    version = raw.get("schema_version")
    if not isinstance(version, int):
        raise ProjectFileError(
            "has no valid 'schema_version'",
            path,
            "this is not a Shrinkwise project file, or it was edited by hand; restore the .bak copy",
        )
    if version > SCHEMA_VERSION:
        raise ProjectFileError(
            f"was saved by a newer Shrinkwise (schema {version}; this one reads up to {SCHEMA_VERSION})",
            path,
            "update Shrinkwise to open it",
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ProjectFileError(f"uses schema {version}, which cannot be migrated", path, "re-create the project")
        raw = step(raw)
        version = raw["schema_version"] = version + 1
    return raw


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"field '{where}': {err['msg']}"


def load_project(path: Path | str) -> Project:
    """Read, migrate and validate a project file; any problem becomes a one-line `ProjectFileError`.

    Hostile files included (see `workspace.containment`): only a regular file is read, NaN/Infinity, huge integers,
    lone surrogates and deep nesting are refused, and every path, id and hash it names is checked.
    """
    from shrinkwise.workspace import containment

    path = normalise_project_path(path)
    try:
        text = containment.read_project_text(path)
    except FileNotFoundError:
        raise ProjectFileError(
            "no such project file", path, "check the path or create it with 'shrinkwise new'"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(
            f"cannot be read ({exc.__class__.__name__})", path, "check the file's permissions"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            f"is not valid JSON (line {exc.lineno}, column {exc.colno})",
            path,
            f"restore {path.name}.bak or fix the file by hand",
        ) from None
    except (RecursionError, ValueError) as exc:  # nesting too deep; an integer over 4300 digits
        raise containment.hostile(path, exc) from None
    if not isinstance(raw, dict):
        raise ProjectFileError("is not a Shrinkwise project (expected a JSON object)", path, f"restore {path.name}.bak")
    containment.check_json_values(raw, path)
    try:
        raw = migrate(raw, path)
    except ProjectFileError:
        raise
    except Exception as exc:  # a migration meeting a shape it never expected: the file, not Shrinkwise, is wrong
        raise ProjectFileError(
            f"cannot be migrated ({exc.__class__.__name__})", path, f"fix the file by hand or restore {path.name}.bak"
        ) from None
    try:
        project = Project.model_validate(raw)
    except ValidationError as exc:
        raise ProjectFileError(
            f"is not a valid project: {_first_error(exc)}", path, f"fix that field or restore {path.name}.bak"
        ) from None
    containment.check_project(project, path)
    for e in project.experiments:  # a malformed sensitivity result is refused here, not half-shown later
        e.sensitivity_result(path)
    return project


def save_project(project: Project, path: Path | str, base: dict[str, Any] | None = None) -> Path:
    """Write atomically (temp file, fsync, rename) under the project's lock and keep the previous save as `.bak`.

    With `base` (the project as this process last read or wrote it), what other processes saved since is merged
    in first, so no writer erases another's experiment (`workspace.store`).
    """
    from shrinkwise.workspace.store import locked_save

    return locked_save(project, normalise_project_path(path), base)
