"""Errors a user can act on.

Every `ShrinkwiseError` carries a one-line message that names the file (when there is one) and what to do.
The CLI prints it and exits with code 2; the GUI shows it in a dialog. Anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ShrinkwiseError(Exception):
    """A problem with the user's input, explained in one line."""

    def __init__(self, message: str, path: Path | str | None = None, fix: str | None = None) -> None:
        # Kept apart as well, so `--json` can report them as fields (`{"error", "file", "fix"}`).
        self.message, self.path, self.fix = message, (str(path) if path is not None else None), fix
        parts = [f"{path}: {message}" if path is not None else message]
        if fix:
            parts.append(fix)
        super().__init__(" — ".join(parts).replace("\n", " "))


class ModelLoadError(ShrinkwiseError):
    """The model file cannot be read, is of the wrong kind, or is unsafe to load."""


class DataError(ShrinkwiseError):
    """The data file cannot be read or does not fit the model."""


class ProjectFileError(ShrinkwiseError):
    """The project file is missing, corrupt, or from a newer Shrinkwise."""


class TechniqueError(ShrinkwiseError):
    """A technique cannot run with what it was given (missing data, missing torch model, bad setting)."""


def is_runtime_error(exc: BaseException) -> bool:
    """True for the errors ONNX Runtime and onnx raise (Fail, InvalidGraph, InvalidArgument, ValidationError, ...).

    They are pybind11 classes without a shared Python base, so the defining module is the only reliable mark.
    """
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("onnxruntime", "onnx")


def runtime_error_text(exc: BaseException, limit: int = 220) -> str:
    """The useful part of an ONNX Runtime message on one line (its '[ONNXRuntimeError] : 1 : FAIL :' prefix cut)."""
    import re

    text = " ".join(str(exc).split())
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : ", "", text)
    text = re.sub(r"Load model from \S+ failed:", "", text).strip()
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrap_runtime_error(
    exc: BaseException,
    path: Path | str | None,
    doing: str,
    fix: str | None = None,
    kind: type[ShrinkwiseError] = ModelLoadError,
) -> ShrinkwiseError:
    """Turn a raw ONNX Runtime / onnx error into one line that names the file and what to do."""
    return kind(
        f"ONNX Runtime could not {doing} ({type(exc).__name__}: {runtime_error_text(exc)})",
        path,
        fix
        or "the graph uses an op, type or shape this ONNX Runtime does not support; re-export it with a recent "
        "exporter and opset",
    )


@contextmanager
def runtime_errors(
    path: Path | str | None, doing: str, fix: str | None = None, kind: type[ShrinkwiseError] = ModelLoadError
) -> Iterator[None]:
    """At the engine's entry points: raw ONNX Runtime / onnx errors leave as one `ShrinkwiseError` line."""
    try:
        yield
    except ShrinkwiseError:
        raise
    except Exception as exc:
        if is_runtime_error(exc):
            raise wrap_runtime_error(exc, path, doing, fix, kind) from exc
        raise
