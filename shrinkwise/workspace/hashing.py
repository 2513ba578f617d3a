"""Content hashes for lineage: which model and data produced an artifact."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_tree(folder: Path) -> str:
    """A hash over every file below `folder` (relative names and contents), for image-folder datasets."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()
