"""Device targets as data: one YAML profile per device class in `rules/targets/`, plus "this computer".

Why data and not code: a device's memory, compute and supported precisions are facts with sources, and adding a
device should not need a programmer. Numbers are order-of-magnitude figures for *labelled estimates*; anything
that matters is measured on the device itself.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import Field, ValidationError

from shrinkwise.advisor.errors import AdvisorError, did_you_mean, first_validation_error
from shrinkwise.advisor.facts import TargetFacts
from shrinkwise.advisor.provenance import Provenance
from shrinkwise.advisor.yaml_io import load_yaml

THIS_COMPUTER = "this-computer"


class TargetProfile(TargetFacts):
    """A device profile file: the facts the rules see, plus where the numbers come from."""

    description: str = ""
    example_devices: list[str] = Field(default_factory=list)
    cpu_flags: list[str] = Field(default_factory=list, description="Relevant CPU flags found (this computer only)")
    notes: list[str] = Field(default_factory=list)
    sources: list[Provenance] = Field(default_factory=list)

    def to_facts(self) -> TargetFacts:
        """Only the fields the rules reason over."""
        return TargetFacts.model_validate(self.model_dump(include=set(TargetFacts.model_fields)))


@lru_cache(maxsize=1)
def load_target_profiles() -> dict[str, TargetProfile]:
    """All profiles shipped in `rules/targets/`, sorted by id. Cached: they are read-only data."""
    folder = resources.files("shrinkwise.rules").joinpath("targets")
    out: dict[str, TargetProfile] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        stem = entry.name[: -len(".yaml")]
        where = f"rules/targets/{entry.name}"
        try:
            raw = load_yaml(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise AdvisorError(f"is not valid YAML ({exc.__class__.__name__})", where=where) from None
        try:
            profile = TargetProfile.model_validate(raw)
        except ValidationError as exc:
            raise AdvisorError(first_validation_error(exc, TargetProfile), where=where) from None
        if profile.id != stem:
            raise AdvisorError(f"id '{profile.id}' must equal the file name '{stem}'", where=where)
        if not profile.sources:
            raise AdvisorError("has no sources", where=where)
        out[stem] = profile
    return out


def all_targets(include_this_computer: bool = True) -> dict[str, TargetProfile]:
    """Shipped profiles, and "this computer" detected now, by id."""
    out = dict(load_target_profiles())
    if include_this_computer:
        from shrinkwise.advisor.hostcpu import detect_this_computer

        out[THIS_COMPUTER] = detect_this_computer()
    return dict(sorted(out.items()))


def get_target(target_id: str) -> TargetProfile:
    """One profile by id; an unknown id is a one-line error listing the known ones."""
    if target_id == THIS_COMPUTER:
        from shrinkwise.advisor.hostcpu import detect_this_computer

        return detect_this_computer()
    profiles = load_target_profiles()
    if target_id not in profiles:
        known = ", ".join([*profiles, THIS_COMPUTER])
        raise AdvisorError(
            f"unknown target '{target_id}'" + did_you_mean(target_id, [*profiles, THIS_COMPUTER]),
            where="target_id",
            fix=f"use one of: {known}",
        )
    return profiles[target_id]
