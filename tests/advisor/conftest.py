"""Shared fixtures: the technique manifest (as data) and the rules, loaded once per test session."""

from __future__ import annotations

from typing import Any

import pytest

from shrinkwise.advisor.rules import LoadedRule, load_rules


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict[str, Any]]:
    from shrinkwise.compression.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def rules(manifest: dict[str, dict[str, Any]]) -> list[LoadedRule]:
    return load_rules(manifest)
