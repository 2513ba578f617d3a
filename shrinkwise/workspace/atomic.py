"""Atomic file writes: a crash mid-save never leaves a half-written file, and the previous save can be kept as .bak.

Both the file and its `.bak` are written the same way (temp file in the same folder, fsync, rename), so a SIGKILL
at any instant leaves each one either the old or the new complete version, plus at worst a stray temp file that
`remove_stale_temps` deletes (the project store calls it while holding the project's lock).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path | str, data: bytes, keep_backup: bool = False) -> None:
    """Write to a temp file in the same folder, fsync it, then rename over `path` (atomic on POSIX and Windows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if keep_backup and path.exists():
        _write_backup(path)
    fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a saved file keeps the previous file's mode, or gets the usual 0644.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _write_backup(path: Path) -> None:
    """The previous version as `.bak`, itself written atomically (a plain copy killed halfway corrupts it)."""
    try:
        data = path.read_bytes()
    except OSError:
        return
    atomic_write_bytes(path.with_name(path.name + ".bak"), data)


def remove_stale_temps(path: Path | str) -> list[Path]:
    """Delete temp files of earlier writes of `path` (and of its .bak) that a killed process left behind.

    Only call this while no other process can be writing `path` (the project store holds the project's lock).
    """
    path = Path(path)
    removed: list[Path] = []
    prefixes = (_temp_prefix(path), _temp_prefix(path.with_name(path.name + ".bak")))
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if name.startswith(prefixes) and name.endswith(TEMP_SUFFIX):
            stale = path.parent / name
            try:
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()
                    removed.append(stale)
            except OSError:
                pass
    return removed


def atomic_write_text(path: Path | str, text: str, keep_backup: bool = False) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), keep_backup=keep_backup)


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
