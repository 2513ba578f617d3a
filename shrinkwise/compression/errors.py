"""Errors a user can act on.

Every `ShrinkwiseError` carries a one-line message that names the file (when there is one) and what to do.
The CLI prints it and exits with code 2; the GUI shows it in a dialog. Anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class ShrinkwiseError(Exception):
    """A problem with the user's input, explained in one line."""

    def __init__(self, message: str, path: Path | str | None = None, fix: str | None = None) -> None:
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
