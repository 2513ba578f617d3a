"""Read the capability manifest (`catalog.toml`) without importing any technique module."""

from __future__ import annotations

import difflib
import importlib
import tomllib
from collections.abc import Mapping
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


# Fields every Config has that are not the user's to set.
_NOT_SETTINGS = ("version", "technique")


def technique_settings(technique_id: str) -> list[str]:
    """The settings a technique takes (its Config's fields), in the order it declares them."""
    fields = technique_module(technique_id).Config.model_fields
    return [name for name in fields if name not in _NOT_SETTINGS]


def technique_config(
    technique_id: str, settings: Mapping[str, Any], step: int | None = None, elsewhere: Mapping[str, str] | None = None
) -> Any:
    """The technique's validated Config. A bad setting is one `TechniqueError` line naming the step, the setting and
    what is allowed (the setting names, or the values the setting takes), never pydantic's multi-line report.

    `step` is the 1-based position in a recipe (None for a single technique); `elsewhere` maps a setting to the
    other step that has it ("step 1 (prune_structured)"), for a setting sent to the wrong step.
    """
    from pydantic import ValidationError

    config_cls = technique_module(technique_id).Config
    try:
        return config_cls.model_validate(dict(settings))
    except ValidationError as exc:
        who = f"step {step} ({technique_id})" if step is not None else technique_id
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        names = technique_settings(technique_id)
        if not key:  # a check across settings (a model validator): its own words say which
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise TechniqueError(f"{who}: {msg}", fix=f"its settings: {', '.join(names) or 'none'}") from None
        if err["type"] == "extra_forbidden" or key not in names:
            where = (elsewhere or {}).get(key)
            close = [] if where else difflib.get_close_matches(key, names, n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            also = f"; '{key}' is a setting of {where}" if where else ""
            raise TechniqueError(
                f"{who}: '{key}' is not a setting of {technique_id}{hint}",
                fix=f"its settings: {', '.join(names) or 'none'}{also}",
            ) from None
        shown = repr(err.get("input"))
        got = f" (got {shown})" if len(shown) <= 40 else ""
        prop = config_cls.model_json_schema()
        raise TechniqueError(
            f"{who}: setting '{key}': {err['msg']}{got}", fix=f"'{key}' takes {_allowed(prop, key)}"
        ) from None


def _allowed(schema: dict[str, Any], key: str) -> str:
    """What a setting takes, in words, from its JSON schema: the choices, the range, or the kind of value."""
    prop = dict(schema.get("properties", {}).get(key, {}))
    for option in prop.get("anyOf", []):  # Optional[...]: the non-null member says what is allowed
        if option.get("type") != "null":
            prop = {**option, **{k: v for k, v in prop.items() if k != "anyOf"}}
            break
    if "$ref" in prop:
        prop = {**schema.get("$defs", {}).get(prop["$ref"].rsplit("/", 1)[-1], {}), **prop}
    if "enum" in prop:
        return "one of: " + ", ".join(str(v) for v in prop["enum"])
    kind = {"integer": "a whole number", "number": "a number", "boolean": "true or false", "string": "text"}
    kind |= {"array": 'a list, e.g. ["a", "b"]', "object": "a JSON object"}
    words = kind.get(str(prop.get("type")), "a value")
    low, high = prop.get("minimum"), prop.get("maximum")
    low_words = f"at least {low:g}" if low is not None else None
    high_words = f"at most {high:g}" if high is not None else None
    if prop.get("exclusiveMinimum") is not None:
        low, low_words = prop["exclusiveMinimum"], f"above {prop['exclusiveMinimum']:g}"
    if prop.get("exclusiveMaximum") is not None:
        high, high_words = prop["exclusiveMaximum"], f"below {prop['exclusiveMaximum']:g}"
    if low_words and high_words:
        inclusive = low_words.startswith("at") and high_words.startswith("at")
        return f"{words} from {low:g} to {high:g}" if inclusive else f"{words} {low_words} and {high_words}"
    return f"{words} {low_words or high_words}" if (low_words or high_words) else words
