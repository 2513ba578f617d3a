"""The window's session: what the user edits waits for File > Save; what the work produces is saved at once.

Why: runs, attaching a model, adding data, choosing a candidate and importing device results save the project from
worker threads (`Session.save`). A plain session would write the user's unsaved edits with them, so "Discard"
could not discard anything. Here a background save writes the user's fields (name, notes, target, budget, plan,
answers) as they were last saved, and everything else as it is; only `save_edits` writes the edits too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from shrinkwise.workspace.session import Session

# The fields the user edits on the pages and keeps or discards with File > Save.
USER_FIELDS = ("name", "notes", "target", "budget", "plan", "answers")


class DraftSession(Session):
    _saved: dict[str, Any] | None = None  # the user fields as the file holds them (None: save everything)

    @classmethod
    def create(cls, path: Path | str, name: str | None = None, overwrite: bool = False) -> DraftSession:
        session = super().create(path, name, overwrite)
        assert isinstance(session, DraftSession)
        session._remember_saved()
        return session

    @classmethod
    def open(cls, path: Path | str) -> DraftSession:
        session = super().open(path)
        assert isinstance(session, DraftSession)
        session._remember_saved()
        return session

    def _remember_saved(self) -> None:
        self._saved = {f: copy.deepcopy(getattr(self.project, f)) for f in USER_FIELDS}

    def save_edits(self, path: Path | str | None = None) -> Path:
        """File > Save (and Save As): everything, the user's edits included."""
        out = Session.save(self, path)
        self._remember_saved()
        return out

    def save(self, path: Path | str | None = None) -> Path:
        """A save by the work (a run, an attach, a choice…): the user's unsaved edits stay in memory only."""
        saved = self._saved
        if saved is None or path is not None:
            return self.save_edits(path)
        from shrinkwise.workspace.store import save_with_base

        live = self.project
        on_file = live.model_copy(update={f: copy.deepcopy(v) for f, v in saved.items()})
        out, self._base = save_with_base(on_file, self.path, getattr(self, "_base", None))
        # What the save merged in from other writers reaches the live project; the user's edits stay.
        for name in type(live).model_fields:
            value = getattr(on_file, name)
            if name in saved:
                if getattr(live, name) == saved[name]:
                    setattr(live, name, value)
                saved[name] = copy.deepcopy(value)
            elif value is not getattr(live, name):
                setattr(live, name, value)
        return out
