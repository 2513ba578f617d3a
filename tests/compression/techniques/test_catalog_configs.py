"""Walk the whole catalog: every technique imports cheaply, and its Config is a well-formed, documented,
bounded, JSON-round-tripping pydantic model with a literal discriminator."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Union

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from shrinkwise.compression.catalog import technique_ids, technique_module
from shrinkwise.compression.technique_api import TechniqueConfig

IDS = technique_ids()


def test_catalog_lists_the_ten_techniques() -> None:
    assert set(IDS) == {
        "fp16",
        "int8_dynamic",
        "int8_static",
        "int4_weight_only",
        "int8_storage",
        "palettize",
        "prune_unstructured",
        "prune_structured",
        "distill",
        "mixed_precision",
    }


@pytest.mark.parametrize("tid", IDS)
def test_config_is_well_formed(tid: str) -> None:
    module = technique_module(tid)
    config_cls = module.Config
    assert issubclass(config_cls, TechniqueConfig)
    assert inspect.isgeneratorfunction(module.apply)
    field = config_cls.model_fields["technique"]
    assert typing.get_origin(field.annotation) is typing.Literal and typing.get_args(field.annotation) == (tid,)
    assert field.default == tid
    for name, info in config_cls.model_fields.items():
        if name == "technique":
            continue
        assert info.description, f"{tid}.{name} has no description"

    default = config_cls()
    again = config_cls.model_validate_json(default.model_dump_json())
    assert again == default
    with pytest.raises(ValidationError):
        config_cls.model_validate({"technique": tid, "no_such_setting": 1})
    with pytest.raises(ValidationError):
        config_cls.model_validate({"technique": "some_other_id"})
    with pytest.raises(ValidationError):  # frozen
        default.version = 2  # type: ignore[misc]

    schema = config_cls.model_json_schema()
    assert schema["properties"]["technique"].get("const") == tid or schema["properties"]["technique"].get("enum") == [
        tid
    ]
    for name, prop in schema["properties"].items():
        if name in ("technique", "version"):
            continue
        kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
        if kinds & {"integer", "number"} and "enum" not in prop and "const" not in prop:
            assert "minimum" in prop or "exclusiveMinimum" in prop, f"{tid}.{name} has no lower bound"
            assert "maximum" in prop or "exclusiveMaximum" in prop, f"{tid}.{name} has no upper bound"
        if "array" in kinds:
            assert "maxItems" in prop, f"{tid}.{name} has no length bound"
        if prop.get("type") == "string":
            assert "enum" in prop or "pattern" in prop or "const" in prop, f"{tid}.{name} is unconstrained text"


def test_configs_validate_through_one_discriminated_union() -> None:
    classes = tuple(technique_module(t).Config for t in IDS)
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Union[classes], Field(discriminator="technique")])  # type: ignore[valid-type]  # noqa: UP007 (a runtime tuple of classes)
    for tid, cls in zip(IDS, classes, strict=False):
        assert isinstance(adapter.validate_python({"technique": tid}), cls)
    parsed = adapter.validate_json('{"technique": "palettize", "bits": 3}')
    assert parsed.bits == 3
    with pytest.raises(ValidationError):
        adapter.validate_json('{"technique": "palettize", "bits": 9}')


def test_bounds_are_enforced() -> None:
    with pytest.raises(ValidationError):
        technique_module("prune_unstructured").Config(target_sparsity=1.5)
    with pytest.raises(ValidationError):
        technique_module("int4_weight_only").Config(block_size=100)
    with pytest.raises(ValidationError):
        technique_module("distill").Config(student="somewhere")


def test_importing_techniques_stays_cheap() -> None:
    code = (
        "import sys\n"
        "from shrinkwise.compression.catalog import technique_ids, technique_module\n"
        "for t in technique_ids(): technique_module(t).Config()\n"
        "heavy = [m for m in ('torch', 'onnx', 'onnxruntime', 'torch_pruning', 'onnxconverter_common') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=root)
