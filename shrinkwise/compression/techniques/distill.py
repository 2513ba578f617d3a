"""Knowledge distillation: a smaller student learns from the original model's outputs (soft targets) and the labels.

Teacher: the original PyTorch model. Student: the original with channels pruned to `width_ratio` ("pruned"), the
TorchScript model an earlier step (e.g. structured pruning) produced ("previous"), or a class from a Python file
("module:path/to/file.py:ClassName", built with `student_kwargs`). The loss follows the primary output's task
(`_objective`): class scores: alpha · T² · KL(student/T ‖ teacher/T) + (1 − alpha) · cross-entropy(labels); a binary
probability: alpha · BCE(teacher's probability) + (1 − alpha) · BCE(labels); an embedding or a regression: mean
squared error to the teacher's outputs (no labels needed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shrinkwise.compression.errors import TechniqueError
from shrinkwise.compression.events import LogLine, Progress
from shrinkwise.compression.technique_api import Artifact, TechniqueConfig, TechniqueContext, TechniqueRun

if TYPE_CHECKING:  # pragma: no cover
    import torch

STUDENT_PATTERN = r"^(pruned|previous|module:.+\.py:[A-Za-z_][A-Za-z0-9_]*)$"


class Config(TechniqueConfig):
    technique: Literal["distill"] = "distill"
    student: str = Field(
        default="pruned",
        pattern=STUDENT_PATTERN,
        max_length=1000,
        description="'pruned' = the original with fewer channels (width_ratio); 'previous' = the TorchScript model "
        "an earlier step produced; 'module:<file.py>:<Class>' = your own student class",
    )
    width_ratio: float = Field(
        default=0.5, ge=0.05, le=1.0, description="Fraction of channels the 'pruned' student keeps in each layer"
    )
    student_kwargs: dict[str, int | float | bool | str] = Field(
        default_factory=dict,
        max_length=64,
        description="Keyword arguments for the student class ('module:' students only)",
    )
    temperature: float = Field(
        default=4.0,
        ge=1.0,
        le=20.0,
        description="Softens both models' outputs so the student also learns the runner-up classes",
    )
    alpha: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description="Weight of the teacher's soft targets; 1 − alpha goes to the true labels",
    )
    epochs: int = Field(default=10, ge=1, le=1000, description="Training epochs (stops early on the time budget)")
    lr: float = Field(default=1e-3, gt=0.0, le=1.0, description="Adam learning rate")
    batch_size: int = Field(default=64, ge=1, le=65_536, description="Batch size")


def _load_student_class(spec: str, kwargs: dict[str, object]) -> torch.nn.Module:
    _, rest = spec.split(":", 1)
    file, cls_name = rest.rsplit(":", 1)
    path = Path(file).expanduser()
    if not path.is_file():
        raise TechniqueError(
            "student module file not found", path=path, fix="give 'module:<existing file.py>:<ClassName>'"
        )
    mod_name = f"shrinkwise_student_{abs(hash(str(path.resolve())))}"
    spec_obj = importlib.util.spec_from_file_location(mod_name, path)
    if spec_obj is None or spec_obj.loader is None:
        raise TechniqueError("cannot import the student module", path=path)
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules[mod_name] = module
    try:
        spec_obj.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file: one line
        raise TechniqueError(f"importing the student module failed: {type(exc).__name__}: {exc}", path=path) from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise TechniqueError(f"the student module has no class {cls_name!r}", path=path)
    try:
        return cls(**kwargs)
    except Exception as exc:  # noqa: BLE001
        raise TechniqueError(
            f"building {cls_name}(**student_kwargs) failed: {type(exc).__name__}: {exc}", path=path
        ) from exc


def apply(ctx: TechniqueContext, config: Config) -> TechniqueRun:
    import numpy as np
    import torch

    from shrinkwise.compression import onnx_utils as ou
    from shrinkwise.compression.profile import count_macs
    from shrinkwise.compression.techniques import _torch_utils as tu

    if config.student_kwargs and not config.student.startswith("module:"):
        raise TechniqueError(
            "student_kwargs only apply to a 'module:<file.py>:<Class>' student", fix="clear student_kwargs"
        )
    setup = yield from tu.training_setup(ctx, "distillation", "loading the teacher")
    assert ctx.torch_model is not None
    device = ctx.torch_device()
    src, input_names, output_names = setup.source, setup.input_names, setup.output_names
    train, val, held_out, objective = setup.train, setup.val, setup.held_out, setup.objective
    teacher = ctx.torch_model().to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    example = tu.example_inputs(train.inputs, axes=train.axes)

    # ---- the student
    if config.student == "pruned":
        student = ctx.torch_model().to("cpu").eval()
        if config.width_ratio < 1.0:
            pruner = tu.channel_pruner(
                student, example, pruning_ratio=1.0 - config.width_ratio, steps=1, what="a 'pruned' student"
            )
            with tu.quiet_torch():
                pruner.step()
        origin = f"the original with {config.width_ratio:.0%} of its channels"
    elif config.student == "previous":
        if ctx.previous_torch_model_path is None or not Path(ctx.previous_torch_model_path).is_file():
            raise TechniqueError(
                "student 'previous' needs the TorchScript model of an earlier step (e.g. prune_structured), and there is none",
                fix="run structured pruning first in the same plan, or use student 'pruned'",
            )
        student = tu.load_torchscript(ctx.previous_torch_model_path, "cpu")
        origin = f"the model from the previous step ({Path(ctx.previous_torch_model_path).name})"
    else:
        student = _load_student_class(config.student, dict(config.student_kwargs))
        origin = f"class {config.student.rsplit(':', 1)[1]}"
    for p in student.parameters():
        p.requires_grad_(True)
    s_params = sum(p.numel() for p in student.parameters())
    t_params = sum(p.numel() for p in teacher.parameters())
    yield LogLine(text=f"student: {origin}; {s_params:,} parameters vs the teacher's {t_params:,}")
    try:
        with torch.no_grad():
            student.eval()
            tu.forward(student.to("cpu"), example, objective.index)
    except Exception as exc:  # noqa: BLE001 - the student must accept the model's inputs
        raise TechniqueError(f"the student does not accept the model's inputs: {type(exc).__name__}: {exc}") from exc

    # ---- teacher outputs, once (no augmentation, so they do not change between epochs)
    yield Progress(fraction=0.05, message="running the teacher on the training data")
    t_train = torch.from_numpy(np.ascontiguousarray(tu.predict_split(teacher, train, device, objective))).to(device)
    t_val = tu.predict_split(teacher, val, device, objective) if len(val) else None
    labelled = val.labels is not None
    metric = objective.val_metric(labelled)

    def agreement(out_v: np.ndarray) -> dict[str, float]:  # the share of the teacher's answers kept
        assert t_val is not None
        return {"val_agreement": objective.score(out_v, t_val, None)}

    fit = yield from tu.fit(
        student,
        ctx,
        train,
        val,
        epochs=config.epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        device=device,
        loss_fn=objective.distill_loss(t_train, config.temperature, config.alpha),
        val_extra=agreement if t_val is not None and objective.needs_labels else None,
        progress=(0.1, 0.9),
        objective=objective,
        val_reference=t_val,
    )
    notes: list[str] = []
    if fit.stopped_early:
        notes.append(f"Stopped early on the time budget: trained {fit.epochs_done} of {config.epochs} epoch(s).")
    shown = metric.replace("_", " ")
    if held_out:
        notes.append(
            f"Validation {shown} was measured on a 10 % hold-out of the training data (no validation set given)."
        )
    if not objective.needs_labels:
        notes.append(
            f"Output '{objective.output}' is {objective.task}: the student learnt the teacher's outputs (mean squared "
            f"error; temperature and alpha do not apply); validation {shown} is measured against them."
        )
    teacher_score = objective.score(t_val, t_val, val.labels) if t_val is not None else None

    yield Progress(fraction=0.92, message="exporting")
    out = ctx.out_dir / "model_distilled.onnx"
    size = tu.export_onnx(student, example, input_names, output_names, out, dynamic_axes=setup.dynamic_axes())
    ts_path = ctx.out_dir / "model_distilled.pt"
    ts_error = tu.save_torchscript(student, example, ts_path)
    if ts_error:
        notes.append(f"No TorchScript copy was saved ({ts_error}).")
    exported = ou.load(out)
    original = ou.file_bytes(ctx.onnx_path)
    final = fit.val_scores[-1] if fit.val_scores else None
    if final is not None and teacher_score is not None and final < teacher_score - 0.02:
        notes.append(
            f"The student's validation {shown} is {final:.3f}, the teacher's {teacher_score:.3f}; more epochs, "
            "a wider student or a lower temperature may help."
        )
    yield Progress(fraction=1.0, message="done")
    return Artifact(
        path=out.name,
        size_bytes=size,
        summary=f"Distilled into {origin} ({s_params / max(t_params, 1):.0%} of the teacher's parameters), "
        f"{fit.epochs_done} epoch(s)" + (f", validation {shown} {final:.3f}" if final is not None else "") + ".",
        notes=notes,
        torch_model_path=None if ts_error else ts_path.name,
        details={
            "original_bytes": original,
            "student": config.student,
            "student_params": s_params,
            "teacher_params": t_params,
            "macs": {"original": count_macs(src), "student": count_macs(exported)},
            "task": objective.task,
            "trained_output": objective.output,
            "val_metric": metric,
            "teacher_val_score": teacher_score,
            "val_scores": fit.val_scores,
            "teacher_val_accuracy": teacher_score if metric == "accuracy" else None,
            "val_accuracy": fit.val_accuracy,
            "val_agreement": fit.extra.get("val_agreement", []),
            "train_loss": fit.train_loss,
            "epochs_done": fit.epochs_done,
            "stopped_early": fit.stopped_early,
            "device": device,
        },
    )
