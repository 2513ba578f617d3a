"""Choosing the candidate to ship, and exporting it as ONNX with a small model card.

The model card (`model_card.json`) says what was done (recipe, settings, what each step changed, caveats), what was
measured and where (host / device / estimate), the input signature read from the exported file itself, and the
hashes that tie the file to the original model and data.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from shrinkwise.compression.errors import ShrinkwiseError
from shrinkwise.workspace.hashing import sha256_file
from shrinkwise.workspace.project import Experiment
from shrinkwise.workspace.session import Session

MODEL_CARD_VERSION = 1


def find_candidate(session: Session, ref: str | None) -> Experiment:
    """An experiment by id, by a unique label, or 'chosen' / None for the chosen one."""
    project = session.project
    if ref in (None, "", "chosen"):
        if not project.chosen:
            raise ShrinkwiseError(
                "no candidate is chosen yet", session.path, "name one, or run 'shrinkwise choose PROJECT CANDIDATE'"
            )
        ref = project.chosen
    assert ref is not None
    for e in project.experiments:
        if e.id == ref:
            return e
    by_label = [e for e in project.experiments if e.label == ref]
    if len(by_label) == 1:
        return by_label[0]
    ids = ", ".join(e.id for e in project.experiments) or "none yet"
    if by_label:
        raise ShrinkwiseError(
            f"several candidates are labelled '{ref}'", session.path, f"use the id: {', '.join(e.id for e in by_label)}"
        )
    raise ShrinkwiseError(f"no candidate '{ref}'", session.path, f"use one of: {ids}")


def _require_usable(session: Session, exp: Experiment) -> None:
    if exp.status != "finished":
        raise ShrinkwiseError(
            f"candidate '{exp.id}' is {exp.status}, not finished", session.path, "choose a finished candidate"
        )
    if exp.kind == "sensitivity" or exp.final_artifact is None:
        raise ShrinkwiseError(
            f"'{exp.id}' has no model file to ship", session.path, "choose a compressed candidate or the original"
        )


def choose(session: Session, ref: str) -> Experiment:
    """Set `project.chosen` and save atomically."""
    exp = find_candidate(session, ref)
    _require_usable(session, exp)
    session.project.chosen = exp.id
    session.save()
    return exp


class ExportResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: str
    model_path: str
    card_path: str
    sha256: str


def _signature(path: Path) -> dict[str, Any]:
    import onnx

    from shrinkwise.compression.intake import onnx_signature

    sig = onnx_signature(onnx.load(str(path), load_external_data=False))
    return sig.model_dump(mode="json")


def _external_data(path: Path) -> list[str]:
    """Side files (`model.onnx.data`) that the ONNX file refers to and must travel with it."""
    import onnx

    from shrinkwise.workspace.containment import inside

    model = onnx.load(str(path), load_external_data=False)
    names: set[str] = set()
    for t in model.graph.initializer:
        for kv in t.external_data:
            if kv.key == "location":
                names.add(kv.value)
    for name in names:  # copied from beside the model to beside the export: neither side may leave its folder
        if Path(name).is_absolute() or ".." in Path(name).parts or inside(path.parent, name) is None:
            raise ShrinkwiseError(
                f"external data '{name[:80]}' points outside the model's folder",
                path,
                "keep external-data files beside the model (save it again with onnx.save_model)",
            )
    return sorted(names)


def model_card(session: Session, exp: Experiment, model_file: Path) -> dict[str, Any]:
    project = session.project
    art = exp.final_artifact
    assert art is not None
    model = session.require_model()
    base = project.baseline
    steps = []
    by_step = {a.step: a for a in exp.artifacts}
    for i, s in enumerate(exp.recipe):
        a = by_step.get(i)
        steps.append(
            {
                "technique": s.technique,
                "config": s.config,
                "summary": a.summary if a else "",
                "notes": list(a.notes) if a else [],
            }
        )
    return {
        "model_card_version": MODEL_CARD_VERSION,
        "project": project.name,
        "candidate": {"id": exp.id, "label": exp.label or exp.id, "kind": exp.kind, "chosen": project.chosen == exp.id},
        "file": {
            "name": model_file.name,
            "format": art.format,
            "size_bytes": model_file.stat().st_size,
            "sha256": sha256_file(model_file),
        },
        "what_was_done": steps
        if exp.kind != "baseline"
        else [{"technique": "none", "config": {}, "summary": "The original model, unchanged", "notes": []}],
        "measurements": [m.model_dump(mode="json") for m in exp.measurements],
        "original_measurements": [m.model_dump(mode="json") for m in base.measurements]
        if base is not None and base is not exp
        else [],
        "quality": exp.quality.model_dump(mode="json", exclude={"disagreements"}) if exp.quality else None,
        "input_signature": _signature(model_file),
        "lineage": {
            "original_model_sha256": model.sha256,
            "original_onnx_sha256": model.onnx_sha256,
            "data_sha256": art.lineage.data_sha256,
            "data": [{"path": d.path, "role": d.role, "sha256": d.sha256} for d in project.data],
            "versions": art.lineage.versions,
        },
        "how_measured": "source 'host' = measured on the computer that made it, 'device' = measured on the target with the "
        "benchmark bundle, 'estimate' = computed from the target's profile",
    }


def export_candidate(session: Session, ref: str | None, out_dir: Path | str) -> ExportResult:
    """Copy the candidate's ONNX file (and any external-data side files) to `out_dir` with `model_card.json`."""
    exp = find_candidate(session, ref)
    _require_usable(session, exp)
    art = exp.final_artifact
    assert art is not None
    src = session.resolve(art.path)
    if not src.exists():
        raise ShrinkwiseError(
            "the candidate's model file is missing",
            src,
            "re-run the candidate (see the report's reproducibility section)",
        )
    actual = sha256_file(src)
    if actual != art.sha256:
        raise ShrinkwiseError(
            "the candidate's model file changed since it was measured (hash differs)", src, "re-run the candidate"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _safe_stem(exp.label or exp.id)
    dest = out_dir / f"{stem}.onnx"
    shutil.copyfile(src, dest)
    for side in _external_data(src):
        shutil.copyfile(src.parent / side, out_dir / side)
    card = model_card(session, exp, dest)
    card_path = out_dir / "model_card.json"
    from shrinkwise.workspace.atomic import atomic_write_text

    atomic_write_text(card_path, json.dumps(card, indent=2, sort_keys=True) + "\n")
    card_path.chmod(0o644)
    return ExportResult(candidate_id=exp.id, model_path=str(dest), card_path=str(card_path), sha256=actual)


def _safe_stem(label: str) -> str:
    """A file name from a label: letters, digits, '-', '_' and '.'; never a path."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("._") or "model"
    return stem[:80]
