"""Which op types a saved ONNX graph uses, subgraphs included (If/Loop/Scan bodies).

Why: whether a device can run a candidate depends on its ops (an NPU that lacks ConvInteger or
DynamicQuantizeLinear cannot run a dynamic-int8 graph), so every recorded artifact keeps its op types.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _walk(graph: Any, out: set[str]) -> None:
    for node in graph.node:
        out.add(node.op_type)
        for attr in node.attribute:
            if attr.g is not None and len(attr.g.node):
                _walk(attr.g, out)
            for g in attr.graphs:
                _walk(g, out)


ATTENTION_OPS = frozenset({"Attention", "MultiHeadAttention", "GroupQueryAttention", "EmbedLayerNormalization"})
NORM_OPS = frozenset(
    {
        "LayerNormalization",
        "SkipLayerNormalization",
        "SimplifiedLayerNormalization",
        "SkipSimplifiedLayerNormalization",
        "RMSNormalization",
    }
)
TOKEN_MIXING_OPS = frozenset({"Softmax", "Gelu", "FastGelu", "BiasGelu", "Erf"})
PRODUCT_OPS = frozenset({"MatMul", "FusedMatMul", "Gemm"})


def looks_like_transformer(ops: Iterable[str]) -> bool:
    """The one transformer test of the engine (int8_static's op preset, the advisor's `arch_family`): attention
    ops, or a layer norm (fused, or decomposed as ReduceMean with Pow and Sqrt) with softmax or GELU and matrix
    products. A CNN whose only such op is a final Softmax is not one."""
    ops = set(ops)
    if ops & ATTENTION_OPS:
        return True
    norm = bool(ops & NORM_OPS) or {"ReduceMean", "Pow", "Sqrt"} <= ops
    return norm and bool(ops & TOKEN_MIXING_OPS) and bool(ops & PRODUCT_OPS)


def op_types(path: Path | str) -> list[str]:
    """Sorted op types of an ONNX file (weights in external files are not read)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    out: set[str] = set()
    _walk(model.graph, out)
    return sorted(out)


def quantizable_layers(onnx_path: Path) -> list[dict[str, Any]]:
    """Nodes with a float weight (Conv, Gemm, MatMul, ...), named as the quantization techniques name them."""
    from shrinkwise.compression import onnx_utils as ou

    model = ou.load_named(onnx_path)
    inits = ou.initializers(model)
    return [
        {"node": r.node, "op_type": r.op_type, "weight_bytes": ou.tensor_nbytes(inits[r.name])}
        for r in ou.weight_refs(model)
    ]
