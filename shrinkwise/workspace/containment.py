"""A project file is data, not instructions: what it names stays inside its folder, and odd values are refused.

Why: a project can come from someone else (a colleague, a bug report). Its paths decide what Shrinkwise reads,
copies into exports and writes beside reports, and its ids and hashes become file names. So every path it names
must resolve inside the project folder, ids and hashes must match strict patterns, only regular files are read,
and values that would break the next save (NaN, lone surrogates, absurd nesting) are refused when it is read.
Every refusal is one `ProjectFileError` line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shrinkwise.compression.errors import ProjectFileError, ShrinkwiseError

MAX_PROJECT_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Ids become folder and file names (runs/<id>/, report caches): one safe path component, never '.' or '..'.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def read_project_text(path: Path) -> str:
    """The file's text, read only if it is a regular file of sane size (a FIFO would hang, /dev/zero never end)."""
    st = os.stat(path)  # FileNotFoundError is the caller's "no such project file"
    if not stat.S_ISREG(st.st_mode):
        raise ProjectFileError("is not a regular file", path, "give the path of a saved .shrinkwise.json file")
    if st.st_size > MAX_PROJECT_BYTES:
        raise ProjectFileError(
            f"is {st.st_size / 2**20:.0f} MiB, more than a project file can be ({MAX_PROJECT_BYTES // 2**20} MiB)",
            path,
            f"restore {path.name}.bak",
        )
    with open(path, "rb") as fh:
        data = fh.read(MAX_PROJECT_BYTES + 1)
    return data.decode("utf-8")


def hostile(path: Path, exc: BaseException) -> ProjectFileError:
    """JSON that Python's parser itself refuses: nesting deeper than its recursion limit, integers over 4300 digits."""
    what = "is nested too deeply" if isinstance(exc, RecursionError) else f"holds a value Python cannot read ({exc})"
    return ProjectFileError(f"{what}", path, f"restore {path.name}.bak or fix the file by hand")


def _where(trail: tuple[Any, ...]) -> str:
    return ".".join(str(t) for t in trail) or "(top level)"


def check_json_values(raw: Any, path: Path) -> None:
    """Refuse what parses but cannot be saved again: NaN/Infinity, lone surrogates, nesting over MAX_DEPTH.

    Fast path (a save re-reads the file, so this runs on every save): a walk over containers only for the depth,
    then one C-speed `json.dumps` that fails on any NaN/Infinity or lone surrogate; only then the full walk, to
    name the field.
    """
    _check_depth(raw, path)
    try:
        json.dumps(raw, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        _find_bad_value(raw, path)
        raise ProjectFileError("holds a value that cannot be saved", path, "fix it by hand") from None


def _check_depth(raw: Any, path: Path) -> None:
    """Containers only, one level at a time: cheap even for a large project."""
    level: list[Any] = [raw]
    for _ in range(MAX_DEPTH + 1):
        nxt: list[Any] = []
        for c in level:
            nxt.extend(v for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, dict | list))
        if not nxt:
            return
        level = nxt
    raise ProjectFileError(f"is nested more than {MAX_DEPTH} levels deep", path, "fix it by hand")


def _find_bad_value(raw: Any, path: Path) -> None:
    stack: list[tuple[Any, tuple[Any, ...]]] = [(raw, ())]
    while stack:
        value, trail = stack.pop()
        if len(trail) > MAX_DEPTH:
            raise ProjectFileError(
                f"is nested more than {MAX_DEPTH} levels deep at '{_where(trail[:3])}…'", path, "fix it by hand"
            )
        if isinstance(value, dict):
            for k, v in value.items():
                if _SURROGATE.search(k):
                    raise ProjectFileError(
                        f"has a key that is not valid Unicode (a lone surrogate) in '{_where(trail)}'",
                        path,
                        "fix it by hand",
                    )
                stack.append((v, (*trail, k)))
        elif isinstance(value, list):
            stack.extend((v, (*trail, i)) for i, v in enumerate(value))
        elif isinstance(value, str):
            if _SURROGATE.search(value):
                raise ProjectFileError(
                    f"field '{_where(trail)}' is not valid Unicode (a lone surrogate)", path, "fix it by hand"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ProjectFileError(
                f"field '{_where(trail)}' is {value} (NaN and Infinity are not numbers a project can hold)",
                path,
                "replace it with a number or remove the entry",
            )


def inside(folder: Path, rel: str) -> Path | None:
    """`rel` resolved against `folder` (symlinks followed), or None when it lands outside it."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    root = folder.resolve()
    try:
        resolved = (root / rel).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return resolved if resolved == root or resolved.is_relative_to(root) else None


def project_paths(project: Any) -> list[tuple[str, str]]:
    """Every (field, path) a project names, relative to its folder."""
    out: list[tuple[str, str]] = []
    m = project.model
    if m is not None:
        out += [("model.path", m.path), ("model.onnx_path", m.onnx_path)]
        if m.architecture:
            out.append(("model.architecture", m.architecture.rpartition(":")[0] or m.architecture))
    out += [(f"data.{i}.path", d.path) for i, d in enumerate(project.data)]
    for e in project.experiments:
        out += [(f"experiment '{e.id}' artifact {j}", a.path) for j, a in enumerate(e.artifacts)]
    return out


def project_hashes(project: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    m = project.model
    if m is not None:
        out += [("model.sha256", m.sha256), ("model.onnx_sha256", m.onnx_sha256)]
        if m.architecture_sha256 is not None:
            out.append(("model.architecture_sha256", m.architecture_sha256))
    out += [(f"data.{i}.sha256", d.sha256) for i, d in enumerate(project.data)]
    for e in project.experiments:
        for j, a in enumerate(e.artifacts):
            out += [(f"experiment '{e.id}' artifact {j} sha256", a.sha256)]
            out += [(f"experiment '{e.id}' artifact {j} lineage.model_sha256", a.lineage.model_sha256)]
    return out


def check_project(project: Any, path: Path) -> None:
    """Ids, hashes and paths of a validated project; the first offence is one `ProjectFileError`."""
    fix = f"fix that field or restore {path.name}.bak"
    seen: set[str] = set()
    for e in project.experiments:
        if not SAFE_ID.match(e.id):
            raise ProjectFileError(f"experiment id {e.id!r} is not a safe name (letters, digits, . _ -)", path, fix)
        if e.id in seen:
            raise ProjectFileError(f"experiment id {e.id!r} appears twice", path, fix)
        seen.add(e.id)
    if project.chosen is not None and not SAFE_ID.match(project.chosen):
        raise ProjectFileError(f"'chosen' {project.chosen!r} is not a safe experiment id", path, fix)
    for field, digest in project_hashes(project):
        if not SHA256.match(digest):
            raise ProjectFileError(f"{field} {digest[:20]!r} is not a sha256 (64 hex digits)", path, fix)
    folder = path.parent
    for field, rel in project_paths(project):
        if inside(folder, rel) is None:
            raise ProjectFileError(
                f"{field} {rel[:80]!r} points outside the project folder",
                path,
                "a project may only name files inside its own folder; move the file there and add it again",
            )


def bring_inside(folder: Path, store: Path, source: Path) -> Path:
    """A file the user gives from outside the project folder is copied into `store` (inside it) and used from there.

    Why copy: the project must only ever name files inside its folder (so it can be moved, shared, and never
    makes Shrinkwise read elsewhere); the copy also pins what was measured.
    """
    source = Path(source).resolve()
    if inside(folder, str(source)) is not None:
        return source
    if not source.exists():
        return source  # the loader says "no such file" in its own words
    if not (source.is_file() or source.is_dir()):
        raise ShrinkwiseError("is not a regular file or folder", source, "give the path of a model or data file")
    # One sub-folder per source path: two outside files both called data.npz never overwrite each other.
    dest = store / hashlib.sha256(str(source).encode()).hexdigest()[:12] / source.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() and not dest.is_symlink() else dest.unlink()
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=False)
    else:
        shutil.copyfile(source, dest)
        _copy_external_data(source, dest.parent)
    return dest


@contextmanager
def named_as_given(source: Path | str, used: Path) -> Iterator[None]:
    """Refusals raised while reading `used` (what `bring_inside` returned for `source`) name the file the user gave.

    Why: the user never saw `…artifacts/inputs/<hash>/data.npz`; an error naming it sends them looking for a file
    they cannot find. The copy is still what is read (the containment guarantee); only the words change.
    """
    try:
        yield
    except ShrinkwiseError as exc:
        if Path(source).resolve() == used.resolve():
            raise
        raise _renamed(exc, used.resolve(), Path(source)) from None


def _renamed(exc: ShrinkwiseError, used: Path, given: Path) -> ShrinkwiseError:
    """The same error (same class, same fix), its path and message speaking of `given` (as the user spelled it)
    instead of the copy."""
    import copy

    def as_given(text: str) -> str:
        p = Path(text)
        try:
            rel = p.resolve().relative_to(used)
        except (ValueError, OSError):
            return text
        return str(given / rel) if rel.parts else str(given)

    message = exc.message
    for spelled in {str(used), *([exc.path] if exc.path else [])}:
        if spelled and spelled in message:
            message = message.replace(spelled, as_given(spelled))
    out = copy.copy(exc)
    ShrinkwiseError.__init__(out, message, as_given(exc.path) if exc.path else None, exc.fix)
    return out


def _copy_external_data(model: Path, dest_folder: Path) -> None:
    """An ONNX model's external-data files travel with it (they must sit beside it; the loader checks that)."""
    if model.suffix.lower() != ".onnx":
        return
    # External data must sit in the model's folder (or below it): when the folder holds nothing else there is
    # nothing to copy, and reading the graph to find out cost a 0.1 GB transformer 0.1-0.2 s of its intake.
    with os.scandir(model.parent) as entries:
        if all(entry.name == model.name for entry in entries):
            return
    try:
        import onnx

        proto = onnx.load(str(model), load_external_data=False)
    except Exception:  # noqa: BLE001 - not loadable: intake refuses it in its own words
        return
    locations = set()
    for init in proto.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                locations.add(entry.value)
    for loc in locations:
        src = inside(model.parent, loc)
        if src is not None and src.is_file():
            target = inside(dest_folder, loc)
            if target is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)


def contain_architecture(folder: Path, store: Path, architecture: str | None) -> str | None:
    """'file.py:Class' with the file inside the project (copied there if it was outside), as an absolute path.

    The file part is found the way intake finds it: relative to the project folder if it is there, else to the
    current directory.
    """
    if not architecture:
        return architecture
    file_part, sep, cls = architecture.rpartition(":")
    if not sep:
        return architecture  # intake explains the expected 'file.py:Class' form
    path = Path(file_part)
    if not path.is_absolute():
        path = folder / path if (folder / path).exists() else Path.cwd() / path
    return f"{bring_inside(folder, store, path)}:{cls}"
