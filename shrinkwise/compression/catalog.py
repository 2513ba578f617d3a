"""Read the capability manifest (`catalog.toml`) without importing any technique module."""

from __future__ import annotations

import importlib
import tomllib
from functools import lru_cache
from importlib import resources
from types import ModuleType
from typing import Any

from shrinkwise.compression.errors import TechniqueError


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, dict[str, Any]]:
    """Technique id -> manifest entry, in file order."""
    text = resources.files("shrinkwise.compression").joinpath("catalog.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["techniques"])


def technique_ids() -> list[str]:
    return list(load_catalog())


def technique_module(technique_id: str) -> ModuleType:
    """Import a technique's module by the dotted path the manifest gives."""
    catalog = load_catalog()
    if technique_id not in catalog:
        known = ", ".join(catalog)
        raise TechniqueError(f"unknown technique '{technique_id}'", fix=f"use one of: {known}")
    return importlib.import_module(catalog[technique_id]["module"])
