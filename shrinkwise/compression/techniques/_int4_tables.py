"""4-bit embedding tables (ONNX Runtime's GatherBlockQuantized), shared by int8_dynamic and int4_weight_only.

Why a module of its own: both techniques hand Gathers to ONNX Runtime's `MatMulNBitsQuantizer`, and both need the
same two guards around it: the graph converted to opset 21 by ONNX's converter first (the quantizer only relabels
the opset), and every Gather that is not a float table kept out (it would try to block-quantize an int64 shape
constant, or an int8 table another quantizer wrote).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - onnx is imported lazily: importing a technique must stay cheap
    import onnx

# GatherBlockQuantized stores int4/uint4 tensors, which exist from opset 21 and IR version 10 on.
INT4_OPSET = 21
INT4_IR_VERSION = 10


def default_opset(model: onnx.ModelProto) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def with_int4_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model at opset 21, converted by ONNX's version converter (the model itself when it already is).

    ONNX Runtime's 4-bit quantizer only relabels the opset, which leaves ops whose signature moved invalid
    (ReduceMean's axes became an input in opset 18: ONNX Runtime then refuses the file); the converter rewrites
    them. It cannot read contrib ops, so it runs on the float graph, before any quantizer.
    """
    from onnx import version_converter

    opset = default_opset(model)
    if opset is None or opset >= INT4_OPSET:
        return model
    converted = version_converter.convert_version(model, INT4_OPSET)
    converted.ir_version = max(converted.ir_version, INT4_IR_VERSION)
    return converted


def gather_names(graph: onnx.GraphProto) -> list[str]:
    """Every named Gather node, sub-graphs included (the 4-bit quantizer walks them too)."""
    names = []
    for node in graph.node:
        if node.op_type == "Gather" and node.name:
            names.append(node.name)
        for attr in node.attribute:
            for g in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names += gather_names(g)
    return names


def other_gathers(model: onnx.ModelProto, targets: list[str]) -> list[str]:
    """The Gather nodes that must stay as they are: all but `targets` (pass them as nodes_to_exclude)."""
    keep = set(targets)
    return [n for n in gather_names(model.graph) if n not in keep]
