"""A working session over one project: the single place where the engine's results enter the project file.

The GUI and the CLI both drive this class. Heavy calls (attach_model, add_data, profile, measure_baseline) must run
off the UI thread; each saves the project atomically when it changes something.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shrinkwise.compression.audio import audio_kind
from shrinkwise.compression.data import (
    DataHealth,
    Dataset,
    check_declared_size,
    generated_inputs,
    health,
    load_data,
    seeded_split,
)
from shrinkwise.compression.data import split as split_dataset
from shrinkwise.compression.errors import DataError, ModelLoadError, ProjectFileError, ShrinkwiseError
from shrinkwise.compression.intake import UNCONFIRMED, ArchitectureTrustError, TorchModelSpec
from shrinkwise.compression.io_spec import InputSpec, IOSpec, OutputSpec
from shrinkwise.compression.measure.latency import batch_one_feed
from shrinkwise.compression.measure.tasks import OutputQuality
from shrinkwise.compression.profile_types import ModelProfile
from shrinkwise.compression.signature import InputSignature, TensorSpec
from shrinkwise.workspace.hashing import sha256_file, sha256_tree
from shrinkwise.workspace.project import (
    Budget,
    DataRef,
    Experiment,
    Lineage,
    ModelRef,
    PlanEdits,
    Project,
    QualityDetails,
    TargetChoice,
    artifacts_dir,
    normalise_project_path,
    project_name_from_path,
    utc_now,
)
from shrinkwise.workspace.versions import library_versions

if TYPE_CHECKING:
    from shrinkwise.advisor.advice import Advice
    from shrinkwise.advisor.decision import Decision
    from shrinkwise.workspace.disagreements import ChangedAnswers
    from shrinkwise.workspace.result_row import ResultRow

GENERATED_SAMPLES = 64


class Session:
    def __init__(self, path: Path, project: Project) -> None:
        self.path = normalise_project_path(path)
        self.project = project

    # --- files -----------------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str, name: str | None = None, overwrite: bool = False) -> Session:
        path = normalise_project_path(path)
        if path.exists() and not overwrite:
            raise ProjectFileError("already exists", path, "open it, or choose another name")
        session = cls(path, Project(name=name or project_name_from_path(path)))
        session.save()
        return session

    @classmethod
    def open(cls, path: Path | str) -> Session:
        """Load, and reconcile what a killed process left: runs marked interrupted, temp files removed."""
        from shrinkwise.workspace.store import open_session

        return open_session(cls, normalise_project_path(path))

    def save(self, path: Path | str | None = None) -> Path:
        """Save atomically, merging what other processes saved since this one last read or wrote the file;
        with `path`, save as a new file (artifact paths are rewritten to stay valid)."""
        from shrinkwise.workspace.store import save_with_base

        base = getattr(self, "_base", None)
        if path is not None:
            new_path = normalise_project_path(path)
            if new_path != self.path:
                self._move_to(new_path)
                base = None  # another file: nothing of this one to merge
        saved, self._base = save_with_base(self.project, self.path, base)
        return saved

    def _move_to(self, new_path: Path) -> None:
        old_folder = self.folder
        old_artifacts = self.artifacts
        self.path = new_path
        if old_artifacts.exists() and not self.artifacts.exists():
            shutil.copytree(old_artifacts, self.artifacts)

        # Paths outside the artifacts folder are relative to the project folder: re-anchor them.
        def rebase(rel: str) -> str:
            absolute = (old_folder / rel).resolve()
            if absolute.is_relative_to(old_artifacts.resolve()):
                absolute = self.artifacts / absolute.relative_to(old_artifacts.resolve())
            return self.relpath(absolute)

        if self.project.model:
            m = self.project.model
            self.project.model = m.model_copy(update={"path": rebase(m.path), "onnx_path": rebase(m.onnx_path)})
        self.project.data = [d.model_copy(update={"path": rebase(d.path)}) for d in self.project.data]
        for e in self.project.experiments:
            e.artifacts = [a.model_copy(update={"path": rebase(a.path)}) for a in e.artifacts]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def artifacts(self) -> Path:
        return artifacts_dir(self.path)

    def resolve(self, rel: str) -> Path:
        return (self.folder / rel).resolve()

    def relpath(self, path: Path) -> str:
        """Relative to the project folder where possible, so a project folder can be moved as a whole."""
        path = Path(path).resolve()
        try:
            return Path(os.path.relpath(path, self.folder.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()

    # --- model -----------------------------------------------------------------------------------------------

    def attach_model(
        self,
        model_path: Path | str,
        architecture: str | None = None,
        arch_kwargs: dict[str, Any] | None = None,
        input_specs: list[TensorSpec] | None = None,
        trusted: bool | str = False,
    ) -> ModelRef:
        """Read the model into the project. A state dict's architecture file is Python code that runs here (to
        export it) and later in runs that train it. It runs only if the user confirmed it — `trusted` is True (the
        file as it is now: --trust-architecture) or the sha256 they were shown (the window's question) — or if the
        project already holds a confirmation of this very file; else nothing is read or copied."""
        from shrinkwise.compression.intake import load_model
        from shrinkwise.workspace.containment import bring_inside, contain_architecture, named_as_given

        arch_file = self.architecture_to_confirm(architecture)
        if arch_file is not None and trusted is False:
            raise ArchitectureTrustError(
                "this architecture file is Python code that Shrinkwise runs to build the model, and it has not "
                "been confirmed",
                arch_file[0],
                "if you trust it, pass --trust-architecture (the window asks instead)",
            )
        if arch_file is not None and isinstance(trusted, str) and trusted != arch_file[1]:
            raise ArchitectureTrustError(
                "the architecture file changed after you confirmed it, so its code does not run",
                arch_file[0],
                "add the model again and confirm the file as it is now",
            )
        given = Path(model_path)
        if input_specs:  # before anything is read or exported: a torch export would allocate these shapes
            check_declared_size(InputSignature(inputs=list(input_specs)), path=given, io=self.project.io)
        # The project names only files inside its folder: a model, architecture or data from elsewhere is copied in.
        model_path = bring_inside(self.folder, self.artifacts / "inputs", given)
        architecture = contain_architecture(self.folder, self.artifacts / "inputs", architecture)
        arch_sha256 = self._confirmed_copy(architecture, arch_file)
        work = self.artifacts / "model"
        with named_as_given(given, model_path):  # errors name the user's file, not the project's copy of it
            result = load_model(
                model_path,
                work,
                architecture=architecture,
                arch_kwargs=arch_kwargs,
                input_specs=input_specs,
                base_dir=self.folder,
                trusted_sha256=arch_sha256,
            )
        # A model's own fixed shapes (1x1x100000x100000) are refused now, not when profiling tries to allocate them.
        check_declared_size(result.signature, path=given, io=self.project.io)
        model_sha256 = sha256_file(model_path)
        ref = ModelRef(
            path=self.relpath(model_path),
            sha256=model_sha256,
            format=result.format,
            signature=result.signature,
            signature_overridden=bool(input_specs),
            architecture=self._relative_architecture(architecture),
            architecture_sha256=arch_sha256 if result.format == "state_dict" else None,
            arch_kwargs=dict(arch_kwargs or {}),
            onnx_path=self.relpath(result.onnx_path),
            # An ONNX file used as given is hashed once (0.1 s on a 0.1 GB transformer).
            onnx_sha256=model_sha256 if result.onnx_path == model_path else sha256_file(result.onnx_path),
            exporter=result.exporter,
            notes=list(result.notes),
        )
        self.project.model = ref
        # A new model makes earlier measurements meaningless; they stay in the file, but the baseline is redone.
        self.project.experiments = [e for e in self.project.experiments if e.kind != "baseline"]
        self._profile_path().unlink(missing_ok=True)
        self.save()
        return ref

    def architecture_to_confirm(self, architecture: str | None) -> tuple[Path, str] | None:
        """The architecture file (and its sha256) that attaching with `architecture` would run and that the user
        has not confirmed yet; None when there is nothing to run or this very file was confirmed before."""
        from shrinkwise.compression.intake import file_sha256, resolve_architecture_file

        file_part, sep, _ = (architecture or "").rpartition(":")
        if not sep or not file_part:
            return None  # no architecture, or a malformed one that intake refuses in its own words
        path = resolve_architecture_file(file_part, self.folder)
        if not path.is_file():
            return None  # intake says "not found"
        digest = file_sha256(path)
        m = self.project.model
        if m is not None and m.architecture_sha256 == digest:
            return None  # already confirmed, byte for byte
        return path, digest

    def _confirmed_copy(self, architecture: str | None, asked: tuple[Path, str] | None) -> str | None:
        """The sha256 the architecture runs under: the one the user confirmed, re-read from the file the project
        now names (the copy), so a file changed between the question and the copy is refused, not run."""
        from shrinkwise.compression.intake import file_sha256, resolve_architecture_file

        if not architecture or ":" not in architecture:
            return None
        path = resolve_architecture_file(architecture.rpartition(":")[0], self.folder)
        if not path.is_file():
            return None
        digest = file_sha256(path)
        expected = (
            asked[1] if asked is not None else (self.project.model.architecture_sha256 if self.project.model else None)
        )
        if digest != expected:
            raise ArchitectureTrustError(
                "the architecture file changed while it was being added, so its code does not run",
                path,
                "add the model again and confirm the file as it is now",
            )
        return digest

    def _relative_architecture(self, architecture: str | None) -> str | None:
        if not architecture:
            return None
        file_part, _, cls = architecture.rpartition(":")
        path = Path(file_part)
        if not path.is_absolute():
            path = (Path.cwd() / path) if not (self.folder / path).exists() else self.folder / path
        return f"{self.relpath(path)}:{cls}"

    def require_model(self) -> ModelRef:
        if self.project.model is None:
            raise ModelLoadError(
                "this project has no model yet",
                self.path,
                "add one with 'shrinkwise model PROJECT FILE' or drop a model file on the window",
            )
        return self.project.model

    @property
    def onnx_path(self) -> Path:
        return self.resolve(self.require_model().onnx_path)

    def torch_spec(self) -> TorchModelSpec | None:
        m = self.require_model()
        if m.format == "onnx":
            return None
        return TorchModelSpec(
            format=m.format,
            path=self.resolve(m.path),
            architecture=m.architecture,
            arch_kwargs=m.arch_kwargs,
            # Checked where the file runs (the worker); a project that never confirmed its file runs nothing.
            trusted_sha256=(m.architecture_sha256 or UNCONFIRMED) if m.architecture else None,
        )

    def check_architecture(self) -> None:
        """Before a run that builds the torch model: refuse, in one line naming the file and the command that
        confirms it, an architecture file never confirmed or changed since (the worker checks again before it runs)."""
        from shrinkwise.compression.intake import check_architecture_trust, resolve_architecture_file

        spec = self.torch_spec()
        if spec is None or not spec.architecture:
            return
        check_architecture_trust(
            resolve_architecture_file(spec.architecture.rpartition(":")[0], self.folder),
            spec.trusted_sha256,
            fix=f"if you trust it as it is now, add the model again: {self._readd_command()} --trust-architecture "
            "(in the window: add the model again)",
        )

    def _readd_command(self) -> str:
        """The `shrinkwise model` command that adds this project's model again, as it was added."""
        import shlex

        m = self.require_model()
        words = ["shrinkwise", "model", str(self.path), str(self.resolve(m.path))]
        if m.architecture:
            words += ["--architecture", m.architecture]
        if m.arch_kwargs:
            words += ["--arch-kwargs", json.dumps(m.arch_kwargs)]
        for t in m.signature.inputs if m.signature_overridden else []:
            dtype = "" if t.dtype == "float32" else f":{t.dtype}"
            words += ["--input-shape", f"{t.name}:{','.join(str(d) for d in t.shape)}{dtype}"]
        return shlex.join(words)

    # --- data ------------------------------------------------------------------------------------------------

    def add_data(self, data_path: Path | str, role: str = "all") -> DataRef:
        """Read and check the data against the model, record its hash and health, and save."""
        model = self.require_model()
        from shrinkwise.workspace.containment import bring_inside, named_as_given

        given = Path(data_path)
        data_path = bring_inside(self.folder, self.artifacts / "inputs", given)
        with named_as_given(given, data_path):  # errors name the user's file, not the project's copy of it
            dataset = load_data(data_path, model.signature, self.project.io)
        if dataset.spec is not None:  # the file's own data spec becomes the project's, where the user said nothing
            self.project.io = self.project.io.merged(dataset.spec)
        kind = audio_kind(data_path) or ("image_folder" if data_path.is_dir() else "npz")
        digest = sha256_tree(data_path) if data_path.is_dir() else sha256_file(data_path)
        calib = self.project.split.calibration_count if role in ("all", "calibration", "training") else None
        if calib is not None:
            calib = min(
                calib,
                len(dataset)
                if role != "all"
                else len(dataset) - int(round(self.project.split.evaluation_fraction * len(dataset))),
            )
        ref = DataRef(
            path=self.relpath(data_path),
            sha256=digest,
            kind=kind,
            role=role,  # type: ignore[arg-type]
            samples=len(dataset),
            health=health(dataset, role, calib),
        )
        self.project.data = [d for d in self.project.data if d.role != role] + [ref]
        self.save()
        return ref

    def _load(self, ref: DataRef) -> Dataset:
        path = self.resolve(ref.path)
        if not path.exists():
            raise DataError("data file is missing", path, "put it back or add the data again")
        return load_data(path, self.require_model().signature, self.project.io)

    def declare_io(
        self, inputs: dict[str, InputSpec] | None = None, outputs: dict[str, OutputSpec] | None = None
    ) -> IOSpec:
        """Declare where an input's samples are (or that it is a constant or a recurrent state) and what an output
        is (its task, a binary threshold). Names the model does not have are refused; the project's data must
        still fit; the baseline is dropped (its headline may change) and measured again before the next run."""
        model = self.require_model()
        known_in = set(model.signature.input_names)
        known_out = {o.name for o in model.signature.outputs}
        for name in inputs or {}:
            if name not in known_in:
                raise ShrinkwiseError(f"the model has no input '{name}'", fix=f"inputs: {', '.join(sorted(known_in))}")
        for name in outputs or {}:
            if known_out and name not in known_out:
                raise ShrinkwiseError(
                    f"the model has no output '{name}'", fix=f"outputs: {', '.join(sorted(known_out))}"
                )
        previous = self.project.io
        self.project.io = IOSpec(
            inputs={**previous.inputs, **(inputs or {})}, outputs={**previous.outputs, **(outputs or {})}
        )
        try:
            for ref in self.project.data:
                self._load(ref)
        except ShrinkwiseError:
            self.project.io = previous
            raise
        if self.project.io != previous:
            self.project.experiments = [e for e in self.project.experiments if e.kind != "baseline"]
            self._profile_path().unlink(missing_ok=True)
        return self.project.io

    def output_tasks(self) -> list[OutputQuality]:
        """Each output's task and the reason, as the next measurement will score it (runs the original once)."""
        from shrinkwise.compression.measure.evaluate import reference_outputs
        from shrinkwise.compression.measure.runtime import make_session, session_signature
        from shrinkwise.compression.measure.scoring import score_outputs

        evaluation = self.datasets()["evaluation"]
        assert evaluation is not None
        ref = reference_outputs(self.onnx_path, evaluation, self.project.io)
        signature = session_signature(make_session(self.onnx_path))
        scored = score_outputs(ref, ref, evaluation, signature, self.project.io)
        return [q.model_copy(update={"metrics": {}}) for q in scored.outputs]

    def _by_role(self, role: str) -> DataRef | None:
        return next((d for d in self.project.data if d.role == role), None)

    def datasets(self) -> dict[str, Dataset | None]:
        """Calibration, evaluation and training sets from the data's roles and the seeded split.

        Without any data, evaluation is a generated set (labelled so): good for latency, not for quality.
        """
        split = self.project.split
        out: dict[str, Dataset | None] = {"calibration": None, "evaluation": None, "training": None}
        everything = self._by_role("all")
        if everything is not None:
            parts = split_dataset(
                self._load(everything), split.calibration_count, split.evaluation_fraction, split.seed
            )
            out["calibration"], out["evaluation"], out["training"] = parts
        for role in ("evaluation", "training", "calibration"):
            ref = self._by_role(role)
            if ref is not None:
                out[role] = self._load(ref)
        if (
            self._by_role("calibration") is None
            and self._by_role("training") is not None
            and out["training"] is not None
        ):
            train = out["training"]
            out["calibration"] = train.subset(np.sort(seeded_split(len(train), split.calibration_count, split.seed)[0]))
        if out["evaluation"] is None:
            out["evaluation"] = generated_inputs(
                self.require_model().signature, GENERATED_SAMPLES, split.seed, self.project.io
            )
        return out

    def data_sha256(self) -> str | None:
        if not self.project.data:
            return None
        return "+".join(sorted(d.sha256[:16] for d in self.project.data))

    def data_health(self) -> list[tuple[DataRef, DataHealth | None]]:
        return [(d, d.health) for d in self.project.data]

    # --- profile and baseline --------------------------------------------------------------------------------

    def _profile_path(self) -> Path:
        return self.artifacts / "profile.json"

    def cached_profile(self) -> ModelProfile | None:
        """The saved profile if it belongs to the current model; cheap (no onnx import). One reader of
        profile.json (`workspace.facts.load_saved_profile`), shared with the advisor's facts."""
        from shrinkwise.workspace.facts import load_saved_profile

        if self.project.model is None:
            return None
        profile, stale = load_saved_profile(self.project, self.path)
        return None if stale else profile

    def profile(self, force: bool = False) -> ModelProfile:
        from shrinkwise.compression.profile import profile_model
        from shrinkwise.workspace.atomic import atomic_write_text

        if not force and (cached := self.cached_profile()) is not None:
            return cached
        evaluation = self.datasets()["evaluation"]
        assert evaluation is not None
        # The advice that follows a profile needs the rules: reading them (Python) overlaps ONNX Runtime timing the
        # nodes (off the GIL), 0.2-0.4 s off the first advice. An error there is the advice's to report, not this.
        from concurrent.futures import ThreadPoolExecutor

        from shrinkwise.workspace.facts import warm_up_advisor

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(warm_up_advisor)
            prof = profile_model(self.onnx_path, batch_one_feed(evaluation))
        payload = {"onnx_sha256": self.require_model().onnx_sha256, "profile": prof.model_dump()}
        atomic_write_text(self._profile_path(), json.dumps(payload, indent=1))
        return prof

    # --- the goal: target, budget, answers, plan edits ---------------------------------------------------------
    # The CLI and the GUI both call these, so an answer given in either is stored alike. They change the project
    # in memory; the caller saves (the CLI at once, the GUI when the user saves).

    def set_target(self, target_id: str | None, overrides: dict[str, Any] | None = None) -> TargetChoice:
        """Choose the device (an id from `shrinkwise targets`); an unknown id is refused with the known ones."""
        from shrinkwise.advisor.errors import AdvisorError
        from shrinkwise.advisor.targets import get_target

        if target_id:
            try:
                get_target(target_id)
            except AdvisorError as exc:
                raise ShrinkwiseError(str(exc), fix="see 'shrinkwise targets' for the known ids") from None
        choice = TargetChoice(id=target_id or None, overrides=dict(overrides or {}))
        self.project.target = choice
        self._check_facts()
        return choice

    def set_budget(self, **changes: Any) -> Budget:
        """Set budget fields (`size_mb=0.2`, `latency_ms=None` clears one); validated as the advisor reads it."""
        from pydantic import ValidationError

        from shrinkwise.advisor.errors import first_validation_error

        unknown = sorted(set(changes) - set(Budget.model_fields))
        if unknown:
            raise ShrinkwiseError(
                f"'{unknown[0]}' is not a budget field", fix=f"use one of: {', '.join(Budget.model_fields)}"
            )
        try:
            budget = Budget.model_validate({**self.project.budget.model_dump(), **changes})
        except ValidationError as exc:
            raise ShrinkwiseError(
                f"budget {first_validation_error(exc, Budget)}", fix="give a positive number"
            ) from None
        self.project.budget = budget
        return budget

    def relative_budget(self, smaller: float | None = None, faster: float | None = None) -> dict[str, float]:
        """Budget fields for "N× smaller" (a size in MB from the original's file) and "N× faster" (a speed-up,
        judged on each candidate's ratio timed side by side with the original): a newcomer knows the factor they
        need before they know the bytes or milliseconds."""
        out: dict[str, float] = {}
        for name, factor in (("smaller", smaller), ("faster", faster)):
            if factor is not None and factor <= 0:
                raise ShrinkwiseError(f"--{name} must be a positive factor, not {factor:g}", fix=f"e.g. --{name} 4")
        if smaller is not None:
            size = self.onnx_path.stat().st_size
            out["size_mb"] = round(size / 1e6 / smaller, 6)
        if faster is not None:
            out["min_speedup"] = float(faster)  # judged on paired ratios: see advisor.situation
        return out

    def answer(self, fact: str, value: Any) -> None:
        """An answer to one of the advisor's questions, stored where it is read: budget and target answers go to
        their typed fields (never to `answers`, where the report would not see them); the rest by fact path."""
        if fact in ("target.id", "target_id"):
            self.set_target(None if value in (None, "") else str(value))
            return
        if fact.startswith("budget."):
            self.set_budget(**{fact.removeprefix("budget."): value})
            return
        previous = dict(self.project.answers)
        self.project.answers = {**previous, fact: value}
        try:
            self._check_facts()
        except ShrinkwiseError:
            self.project.answers = previous
            raise

    def set_plan(self, plan: PlanEdits) -> None:
        self.project.plan = plan

    def _check_facts(self) -> None:
        """Refuse a change the advisor cannot read, with the advisor's one-line reason."""
        from shrinkwise.workspace.facts import build_facts

        try:
            build_facts(self.project, self.path)
        except Exception as exc:  # noqa: BLE001 - any reason becomes one line naming the fact
            raise ShrinkwiseError(
                f"the answer does not fit the advisor's facts: {str(exc).splitlines()[0]}",
                fix="see 'shrinkwise advise --facts-schema' for the facts and their values",
            ) from None

    # --- advice and the one decision -------------------------------------------------------------------------

    def advise(self, profile: ModelProfile | None = None) -> Advice:
        """The advisor's plan, warnings, questions and decision for the project as it is now."""
        from shrinkwise.workspace.facts import advise_project

        return advise_project(self.project, self.path, profile or self.cached_profile())

    def recommendation(self) -> Decision:
        """Which candidate to ship and why: the same decision the Advice page, Compare, Export and reports show."""
        return self.advise().decision

    def results(self) -> list[ResultRow]:
        """Every finished candidate with its numbers (one measurement policy) and Pareto flags."""
        from shrinkwise.workspace.runs import results

        return results(self)

    def disagreements(self, exp_id: str, limit: int | None = None) -> ChangedAnswers:
        """The evaluation inputs on which candidate `exp_id` answers differently from the original (the first
        `limit` of them), with their true labels: reads the evaluation data, so call it off the UI thread."""
        from shrinkwise.workspace.disagreements import ChangedAnswers

        exp = next((e for e in self.project.experiments if e.id == exp_id), None)
        q = exp.quality if exp is not None else None
        if q is None or not q.disagreements:
            return ChangedAnswers(candidate_id=exp_id, samples=q.samples if q else 0)
        ev = self.datasets()["evaluation"]
        assert ev is not None
        x = ev.samples_first(next(iter(ev.inputs)))
        idx = [int(i) for i in q.disagreements if 0 <= i < len(x)][:limit]
        return ChangedAnswers(
            candidate_id=exp_id,
            total=len(q.disagreements),
            samples=q.samples,
            indices=idx,
            inputs=[x[i] for i in idx],
            labels=[None if ev.labels is None else int(ev.labels[i]) for i in idx],
            images=x.ndim in (3, 4) and x.shape[-1] >= 4 and x.shape[-2] >= 4,
        )

    def lineage(self, recipe: list[Any] | None = None) -> Lineage:
        return Lineage(
            model_sha256=self.require_model().sha256,
            data_sha256=self.data_sha256(),
            recipe=recipe or [],
            versions=library_versions(),
        )

    def measure_baseline(self) -> Experiment:
        """Measure the original model exactly as candidates will be measured, and store it as the baseline."""
        from shrinkwise.compression.measure.evaluate import measure_candidate
        from shrinkwise.workspace.project import ArtifactRecord

        sets = self.datasets()
        evaluation = sets["evaluation"]
        assert evaluation is not None
        onnx_path = self.onnx_path
        result = measure_candidate(onnx_path, onnx_path, evaluation, self.artifacts / "tmp", io=self.project.io)
        model = self.require_model()
        exp = Experiment(
            id="original",
            label="Original",
            kind="baseline",
            status="finished",
            started=utc_now(),
            finished=utc_now(),
            artifacts=[
                ArtifactRecord(
                    path=model.onnx_path,
                    size_bytes=onnx_path.stat().st_size,
                    sha256=model.onnx_sha256,
                    summary="The original model, as ONNX",
                    lineage=self.lineage(),
                )
            ],
            measurements=result.measurements,
            quality=QualityDetails.model_validate(result.quality),
        )
        self.project.experiments = [e for e in self.project.experiments if e.kind != "baseline"]
        self.project.experiments.insert(0, exp)
        self.save()
        return exp
