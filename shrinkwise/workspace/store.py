"""Saves that never erase another writer's work: a cross-process lock and a three-way merge.

Why: the GUI, a `shrinkwise run` and a `shrinkwise budget` may hold the same project at once. Each session keeps a
snapshot of the file as it last read or wrote it (the *base*). A save takes the lock beside the project file
(`NAME.shrinkwise.json.lock`, via `filelock`: fcntl/msvcrt locks that die with their process, so a SIGKILL never
leaves a stale lock), re-reads the file and writes base + this process's changes + the other writers' changes:

- a top-level field other than `experiments`: this process's value if it changed it since the base, else the file's;
- `experiments`, by `id`, with the same rule per experiment; one added by either side is kept; one this process
  removed is removed only if the file still holds it unchanged (and the same the other way round).

The rule runs over `Project.model_fields`, so a new field is merged without touching this module.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from shrinkwise.compression.errors import ProjectFileError
from shrinkwise.workspace.atomic import remove_stale_temps

LOCK_TIMEOUT_S = 60.0
Snapshot = dict[str, Any]


def lock_path(project_path: Path) -> Path:
    return project_path.with_name(project_path.name + ".lock")


@contextmanager
def project_lock(project_path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the project's lock; a fresh FileLock per call so threads of one process exclude each other too."""
    project_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(project_path), timeout=timeout, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ProjectFileError(
            f"another Shrinkwise process has held the project's lock for over {timeout:g} s",
            project_path,
            f"wait for it to finish, or delete {lock_path(project_path).name} if no Shrinkwise process is running",
        ) from None
    try:
        yield
    finally:
        lock.release()


def snapshot(project: Any) -> Snapshot:
    """The JSON form a merge compares against (plain data, independent of the live objects)."""
    return project.model_dump(mode="json")


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def merge_into(mine: Any, base: Snapshot, disk: Any) -> list[str]:
    """Apply the other writers' changes (disk vs base) to `mine` in place; returns what was taken from disk.

    In place, so references the GUI or a run holds to this process's experiments stay valid. A value is replaced
    only where the file's differs from this process's.
    """
    taken: list[str] = []
    for name in type(mine).model_fields:
        if name == "experiments":
            continue
        my_value, disk_value = _dump(getattr(mine, name)), _dump(getattr(disk, name))
        if my_value == base.get(name) and disk_value != my_value:
            setattr(mine, name, getattr(disk, name))
            taken.append(name)
    merged, took = _merge_experiments(mine.experiments, base.get("experiments") or [], disk.experiments)
    if took:
        mine.experiments = merged
        taken.extend(f"experiment {i}" for i in took)
    return taken


def _merge_experiments(mine: list[Any], base: list[dict[str, Any]], disk: list[Any]) -> tuple[list[Any], list[str]]:
    base_by_id = {e.get("id"): e for e in base if isinstance(e, dict)}
    disk_by_id = {e.id: e for e in disk}
    mine_ids = {e.id for e in mine}
    out: list[Any] = []
    took: list[str] = []
    for exp in mine:
        b, d = base_by_id.get(exp.id), disk_by_id.get(exp.id)
        m = exp.model_dump(mode="json")
        if b is None:  # added here (or by both: this process's version wins)
            out.append(exp)
        elif d is None:  # removed by another writer: gone, unless this process changed it since
            if m != b:
                out.append(exp)
            else:
                took.append(exp.id)
        elif m == b and d.model_dump(mode="json") != m:  # changed only by another writer
            out.append(d)
            took.append(exp.id)
        else:
            out.append(exp)
    for exp in disk:
        if exp.id in mine_ids:
            continue
        b = base_by_id.get(exp.id)
        if (
            b is None or exp.model_dump(mode="json") != b
        ):  # added by another writer, or changed after this one removed it
            out.append(exp)
            took.append(exp.id)
    return out, took


# --- owners of running experiments -----------------------------------------------------------------------------


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks (Linux /proc); tells a reused pid from the original owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def owner_record() -> dict[str, Any]:
    """Who is running an experiment: recorded when it is saved as `running`."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start_ticks": _start_ticks(pid), "since": time.time()}


def owner_alive(owner: Any) -> bool:
    """False only when we can tell the owner is gone: same host and its pid is dead, a zombie, or reused."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return True  # another machine (a shared folder) or an unknown owner: not ours to judge
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return True
    if _state(pid) in ("Z", "X"):
        return False
    ticks = owner.get("start_ticks")
    return not (isinstance(ticks, int) and _start_ticks(pid) not in (None, ticks))


def clean_temps(project_path: Path) -> list[Path]:
    """Temp files a killed save left beside the project (only safe while holding its lock)."""
    return remove_stale_temps(project_path) + remove_stale_temps(project_path.with_name(project_path.name + ".bak"))


# --- saving and opening ----------------------------------------------------------------------------------------


def _read_disk(path: Path) -> tuple[Any | None, bool]:
    """The project as saved now, and whether the file loaded (only a file that loads is worth a .bak)."""
    from shrinkwise.workspace.project import load_project

    if not path.exists():
        return None, False
    try:
        return load_project(path), True
    except ProjectFileError:
        return None, False


# The base snapshot also remembers the sha256 of the file it came from: a save that finds the file unchanged
# skips re-reading it (the common case of one writer), which keeps saves of large projects cheap.
STAMP = "__file_sha256__"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def locked_save(project: Any, path: Path, base: Snapshot | None) -> Path:
    """Under the lock: merge other writers' changes since `base` into `project`, then write it atomically."""
    return _locked_save(project, path, base)[0]


def save_with_base(project: Any, path: Path, base: Snapshot | None) -> tuple[Path, Snapshot]:
    """`locked_save`, returning the new base (what was written) for the session's next save."""
    saved, digest = _locked_save(project, path, base)
    new_base = snapshot(project)
    new_base[STAMP] = digest
    return saved, new_base


def _locked_save(project: Any, path: Path, base: Snapshot | None) -> tuple[Path, str]:
    """The text is validated before it replaces the file, so a save never writes a file that does not load back."""
    from pydantic import ValidationError

    from shrinkwise.workspace.atomic import atomic_write_text

    with project_lock(path):
        clean_temps(path)
        if base is not None and base.get(STAMP) is not None and base.get(STAMP) == _current_digest(path):
            readable = True  # the file is exactly what this session last read or wrote: nothing to merge
        else:
            disk, readable = _read_disk(path)
            if base is not None and disk is not None:
                merge_into(project, base, disk)
        text = project.model_dump_json(indent=2) + "\n"
        try:
            type(project).model_validate_json(text)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ProjectFileError(
                f"not saved: field '{where}' would not load back ({err['msg']}; NaN or infinity?)",
                path,
                "this is a bug in Shrinkwise; the file on disk is unchanged",
            ) from None
        data = text.encode("utf-8")
        atomic_write_text(path, text, keep_backup=readable)
    return path, _digest(data)


def _remove_run_files(run_dir: Path, runs_root: Path) -> int:
    """Delete an interrupted run's folder; only ever inside `runs_root` (ids are validated, this re-checks)."""
    import shutil

    try:
        resolved = run_dir.resolve()
        if resolved.parent != runs_root.resolve() or not resolved.is_dir() or run_dir.is_symlink():
            return 0
        count = sum(1 for p in resolved.rglob("*") if p.is_file())
        shutil.rmtree(resolved)
    except OSError:
        return 0
    return count


def reconcile_interrupted(project: Any, artifacts: Path) -> list[str]:
    """Mark experiments left `running` by a process that is gone as `interrupted` and remove their unfinished files.

    Why removed rather than recorded: a killed run's files have no measurements and may be half-written; the
    experiment keeps its recipe, so running it again is one command.
    """
    from shrinkwise.workspace.project import utc_now

    changed = []
    runs_root = artifacts / "runs"
    for exp in project.experiments:
        owner = exp.extra.get("owner")
        if exp.status != "running" or owner is None or owner_alive(owner):
            continue
        removed = _remove_run_files(runs_root / exp.id, runs_root)
        files = f"its {removed} unfinished file(s) in runs/{exp.id} were removed" if removed else "it left no files"
        exp.status = "interrupted"
        exp.finished = utc_now()
        exp.error = (
            f"interrupted: the process that ran it (pid {owner.get('pid')} on {owner.get('host')}) ended before "
            f"the run finished; {files}; run the recipe again"
        )
        changed.append(exp.id)
    return changed


def open_session(cls: Any, path: Path) -> Any:
    """Load; remember the base for merging, clean a killed save's temp files, reconcile dead runs."""
    from shrinkwise.workspace.project import load_project

    before = _current_digest(path)
    session = cls(path, load_project(path))
    session._base = snapshot(session.project)
    if before is not None and _current_digest(path) == before:  # the file did not change while it was read
        session._base[STAMP] = before
    if reconcile_interrupted(session.project, session.artifacts):
        try:
            session.save()
        except OSError:
            pass  # a read-only project: the marks hold for this session only
        return session
    try:
        with project_lock(session.path, timeout=2.0):
            clean_temps(session.path)
    except (ProjectFileError, OSError):
        pass  # busy or read-only: the next save cleans them
    return session


@contextmanager
def new_project(path: Path | str, name: str | None = None) -> Iterator[Any]:
    """Create a project and fill it; if filling fails, remove everything made, so the corrected retry just works."""
    from shrinkwise.workspace.project import artifacts_dir, normalise_project_path
    from shrinkwise.workspace.session import Session

    path = normalise_project_path(path)
    made = [
        p for p in (path, artifacts_dir(path), lock_path(path), path.with_name(path.name + ".bak")) if not p.exists()
    ]
    session = Session.create(path, name=name)
    try:
        yield session
    except BaseException:
        import shutil

        for p in made:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        clean_temps(path)
        raise
