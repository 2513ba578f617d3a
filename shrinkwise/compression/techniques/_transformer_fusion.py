"""Fuse a BERT-like ONNX graph into ONNX Runtime's transformer contrib ops, the way ORT's own BERT recipe does.

ONNX Runtime's `onnxruntime.transformers.optimizer` rewrites an encoder's attention block (Q/K/V MatMuls, reshapes,
Softmax, mask) into one `Attention` node, residual + LayerNorm into `SkipLayerNormalization`, bias + erf-GELU into
`BiasGelu` and the embeddings into `EmbedLayerNormalization`; `quantize_dynamic` then turns `Attention` into
`QAttention` (one int8 GEMM for Q, K and V, and a fused softmax kernel). That is markedly faster than the unfused int8
graph on CPU.

The optimizer matches fixed subgraph patterns, and a model exported by `torch.onnx.export` (the TorchScript
exporter) from `F.scaled_dot_product_attention` (transformers 5.x BERT, MiniLM) misses them for three reasons. This
module first rewrites those three spots into the equivalent form the optimizer knows, each exact in real arithmetic:

1. **Softmax NaN guard.** The exporter writes `Where(IsNaN(softmax), 0, softmax)`: a softmax over a row where every
   key is masked with -inf is NaN, and the guard turns that row into zeros. Consumers are re-pointed to the Softmax
   itself. Only rows whose keys are *all* masked change, i.e. an all-padding sequence; every row with at least one
   real token is bit-identical. (The fused Attention kernel handles such rows with a large finite mask value.)
2. **Split scale.** SDPA scales q and k each by sqrt(1/sqrt(d)) before their MatMul: `MatMul(Mul(q, c1), Mul(k,
   c2))` with scalar constants. Scalars commute with a matrix product, so this is `Mul(MatMul(q, k), c1*c2)`, the
   optimizer's "Softmax <- Add <- Mul <- MatMul" pattern. Only Muls read by nothing but that MatMul are folded.
3. **Identity Reshapes.** Reshapes whose input and output shapes are equal under ORT's symbolic shape inference are
   removed (ORT's own `remove_useless_reshape_nodes`, which the optimizer runs only after its attention fusion, too
   late for these graphs).

The attention mask is kept as the raw 2-D mask (`AttentionMaskFormat.AttentionMask`), not ORT's BERT default of
"mask index = number of leading real tokens", which silently gives wrong results for left-padded batches.

Nothing here is trusted blindly: the fused float32 graph is run beside the input on a few feeds (the caller's, or
generated ones with right- and left-padded masks) and kept only when every output is finite and has a cosine of at
least `MIN_COSINE` to the original per sample, and the graph's inputs and outputs are unchanged. Otherwise
`fuse_transformer` says why and writes nothing (the caller keeps the unfused graph).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

# The fused ops counted in a report, in the order they are named to a user.
FUSED_OPS = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "BiasGelu", "Gelu", "EmbedLayerNormalization")
MIN_COSINE = 0.9999
NO_ATTENTION = "ONNX Runtime's optimizer found no attention block to fuse"


@dataclass
class FusionReport:
    """What `fuse_transformer` did. `fused` is False when the output was not written (see `reason`)."""

    fused: bool
    reason: str = ""
    ops: dict[str, int] = field(default_factory=dict)  # fused op type -> count in the written graph
    canonicalized: dict[str, int] = field(default_factory=dict)  # rewrite -> how many places
    min_cosine: float | None = None  # worst per-sample cosine of the check, over every output

    @property
    def nothing_to_fuse(self) -> bool:
        """No attention block was found: a graph that only looked like a transformer (e.g. ConvNeXt-like blocks)."""
        return not self.fused and self.reason == NO_ATTENTION

    def describe(self) -> str:
        if not self.fused:
            return f"attention fusion not applied: {self.reason}"
        ops = ", ".join(f"{n} {op}" for op, n in self.ops.items() if n)
        done = ", ".join(f"{n} {what}" for what, n in self.canonicalized.items() if n)
        cos = (
            f"; fused float32 graph matches the original (min cosine {self.min_cosine:.6f})" if self.min_cosine else ""
        )
        return (
            f"fused with ONNX Runtime's transformer optimizer: {ops}"
            + (f" (after rewriting {done})" if done else "")
            + cos
        )


# ---------------------------------------------------------------- canonicalization


def _scalar_constants(model: onnx.ModelProto) -> dict[str, float]:
    from onnx import numpy_helper

    out: dict[str, float] = {}
    for init in model.graph.initializer:
        if int(np.prod(init.dims)) == 1:
            out[init.name] = float(numpy_helper.to_array(init).reshape(-1)[0])
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            arr = numpy_helper.to_array(node.attribute[0].t)
            if arr.size == 1:
                out[node.output[0]] = float(arr.reshape(-1)[0])
    return out


def _consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _rename_input(model: onnx.ModelProto, old: str, new: str) -> None:
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new


def remove_softmax_nan_guards(model: onnx.ModelProto) -> int:
    """`Where(IsNaN(s), 0, s)` after a Softmax s -> s (see the module docstring, rewrite 1). Returns the count."""
    consts = _scalar_constants(model)
    users = _consumers(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    drop: list[onnx.NodeProto] = []
    for isnan in model.graph.node:
        if isnan.op_type != "IsNaN" or isnan.output[0] in outputs:
            continue
        src = producer.get(isnan.input[0])
        wheres = users.get(isnan.output[0], [])
        if src is None or src.op_type != "Softmax" or len(wheres) != 1:
            continue
        where = wheres[0]
        if (
            where.op_type != "Where"
            or list(where.input[:1]) != [isnan.output[0]]
            or consts.get(where.input[1]) != 0.0
            or where.input[2] != src.output[0]
            or where.output[0] in outputs
        ):
            continue
        _rename_input(model, where.output[0], src.output[0])
        drop += [isnan, where]
    for node in drop:
        model.graph.node.remove(node)
    return len(drop) // 2


def merge_split_qk_scale(model: onnx.ModelProto) -> int:
    """`MatMul(Mul(q, c1), Mul(k, c2))` with scalar constants -> `Mul(MatMul(q, k), c1*c2)` (rewrite 2)."""
    from onnx import helper, numpy_helper

    consts = _scalar_constants(model)
    users = _consumers(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    count = 0

    def scaled(name: str) -> tuple[onnx.NodeProto, str, float] | None:
        mul = producer.get(name)
        if mul is None or mul.op_type != "Mul" or len(users.get(name, [])) != 1 or name in outputs:
            return None
        a, b = mul.input
        if b in consts and a not in consts:
            return mul, a, consts[b]
        if a in consts and b not in consts:
            return mul, b, consts[a]
        return None

    for matmul in list(model.graph.node):
        if matmul.op_type != "MatMul":
            continue
        left, right = scaled(matmul.input[0]), scaled(matmul.input[1])
        if left is None or right is None:
            continue
        (mul_a, q, ca), (mul_b, k, cb) = left, right
        out = matmul.output[0]
        base = matmul.name or out
        raw = f"{out}_unscaled"
        scale = f"{base}_qk_scale"
        matmul.input[0], matmul.input[1] = q, k
        matmul.output[0] = raw
        model.graph.initializer.append(numpy_helper.from_array(np.array(ca * cb, dtype=np.float32), scale))
        index = list(model.graph.node).index(matmul)
        model.graph.node.insert(index + 1, helper.make_node("Mul", [raw, scale], [out], name=f"{base}_scale"))
        model.graph.node.remove(mul_a)
        model.graph.node.remove(mul_b)
        count += 1
    return count


def remove_identity_reshapes(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Reshapes whose input and output shapes are equal under ORT's symbolic shape inference, removed (rewrite 3)."""
    from onnxruntime.transformers.onnx_model_bert import BertOnnxModel

    bert = BertOnnxModel(model, 0, 0)
    before = sum(1 for n in bert.model.graph.node if n.op_type == "Reshape")
    bert.utils.remove_useless_reshape_nodes()
    bert.prune_graph()
    after = sum(1 for n in bert.model.graph.node if n.op_type == "Reshape")
    return bert.model, before - after


def _int_values(model: onnx.ModelProto, name: str, producer: dict[str, onnx.NodeProto]) -> list[int] | None:
    """The integer values of a constant (an initializer or a Constant node), else None."""
    from onnx import numpy_helper

    for init in model.graph.initializer:
        if init.name == name:
            return [int(v) for v in numpy_helper.to_array(init).reshape(-1)]
    node = producer.get(name)
    if node is not None and node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
        return [int(v) for v in numpy_helper.to_array(node.attribute[0].t).reshape(-1)]
    return None


def _projection_width(model: onnx.ModelProto, name: str, producer: dict[str, onnx.NodeProto]) -> int | None:
    """Output width of the `MatMul(x, W)` (+ bias Add) that produces `name`: W's second dimension."""
    inits = {i.name: i for i in model.graph.initializer}
    node = producer.get(name)
    if node is not None and node.op_type == "Add":
        node = next((producer[i] for i in node.input if i in producer and producer[i].op_type == "MatMul"), None)
    if node is None or node.op_type != "MatMul" or node.input[1] not in inits:
        return None
    dims = inits[node.input[1]].dims
    return int(dims[1]) if len(dims) == 2 else None


def attention_shape(model: onnx.ModelProto) -> tuple[int, int] | None:
    """(num_heads, hidden_size) read off the head-splitting Reshapes (`[batch, seq, heads, head_size]`, as a constant
    or a Concat whose last two parts are constants) that feed a `Transpose(perm=[0, 2, 1, 3])`; the most common
    pair. ORT's own detection expects a constant shape and misses the Concat the TorchScript exporter writes."""
    from onnx import helper

    producer = {o: n for n in model.graph.node for o in n.output}
    users = _consumers(model)
    found: Counter[tuple[int, int]] = Counter()
    for node in model.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2:
            continue
        transposes = [u for u in users.get(node.output[0], []) if u.op_type == "Transpose"]
        perms = [
            next((helper.get_attribute_value(a) for a in t.attribute if a.name == "perm"), None) for t in transposes
        ]
        if not any(p is not None and list(p) == [0, 2, 1, 3] for p in perms):
            continue
        shape = _int_values(model, node.input[1], producer)
        if shape is None:
            concat = producer.get(node.input[1])
            if concat is None or concat.op_type != "Concat" or len(concat.input) != 4:
                continue
            parts = [_int_values(model, name, producer) for name in concat.input[2:]]
            if any(p is None or len(p) != 1 for p in parts):
                continue
            shape = [0, 0, parts[0][0], parts[1][0]]  # type: ignore[index]
        if len(shape) != 4:
            continue
        heads, size = shape[2], shape[3]
        if heads > 0 and size > 0:
            found[(heads, heads * size)] += 1
        elif (heads > 0) != (size > 0):  # one of them is -1: take the projection's width as the hidden size
            hidden = _projection_width(model, node.input[0], producer)
            known = max(heads, size)
            if hidden and hidden % known == 0:
                found[(heads if heads > 0 else hidden // known, hidden)] += 1
    return found.most_common(1)[0][0] if found else None


# ---------------------------------------------------------------- verification feeds


def _gather_rows(model: onnx.ModelProto) -> dict[str, int]:
    """Graph input -> rows of the smallest constant table a Gather looks it up in (a valid index bound)."""
    inits = {i.name: i for i in model.graph.initializer}
    inputs = {i.name for i in model.graph.input}
    # follow Cast/Unsqueeze/Reshape chains from an input to the Gather
    origin = {name: name for name in inputs}
    for node in model.graph.node:
        if node.op_type in ("Cast", "Unsqueeze", "Reshape", "Squeeze", "Identity") and node.input[0] in origin:
            origin[node.output[0]] = origin[node.input[0]]
    rows: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] in origin and node.input[0] in inits:
            dims = inits[node.input[0]].dims
            if dims:
                src = origin[node.input[1]]
                rows[src] = min(rows.get(src, dims[0]), dims[0])
    return rows


def generated_feeds(model: onnx.ModelProto, batch: int = 4, seq: int = 16, seed: int = 0) -> list[dict[str, Any]]:
    """Feeds for a text encoder: token ids inside each embedding table, masks with right- and left-padded rows."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    rows = _gather_rows(model)
    inits = {i.name for i in model.graph.initializer}
    feeds: list[dict[str, Any]] = []
    for length in (seq, max(seq // 2, 2)):
        feed: dict[str, Any] = {}
        for inp in model.graph.input:
            if inp.name in inits:
                continue
            t = inp.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]
            shape = [d if d is not None else (batch if i == 0 else length) for i, d in enumerate(dims)]
            dtype = helper.tensor_dtype_to_np_dtype(t.elem_type)
            if np.issubdtype(dtype, np.floating):
                feed[inp.name] = rng.normal(size=shape).astype(dtype)
            elif "mask" in inp.name.lower():
                mask = np.ones(shape, dtype=dtype)
                if len(shape) == 2 and shape[0] >= 3 and shape[1] >= 4:
                    mask[1, shape[1] * 3 // 4 :] = 0  # right padding
                    mask[2, : shape[1] // 4] = 0  # left padding
                feed[inp.name] = mask
            elif inp.name in rows:
                feed[inp.name] = rng.integers(0, rows[inp.name], size=shape).astype(dtype)
            else:
                feed[inp.name] = np.zeros(shape, dtype=dtype)
        feeds.append(feed)
    return feeds


def _run(path: Path, feeds: list[dict[str, Any]]) -> list[list[np.ndarray]]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return [sess.run(None, feed) for feed in feeds]


def _min_cosine(ref: list[list[np.ndarray]], got: list[list[np.ndarray]]) -> float:
    """Worst per-sample cosine over every float output of every feed; -inf when a fused output is not finite."""
    worst = 1.0
    for ref_outs, got_outs in zip(ref, got, strict=True):
        for a, b in zip(ref_outs, got_outs, strict=True):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                return float("-inf")
            if not np.issubdtype(a.dtype, np.floating):
                if not np.array_equal(a, b):
                    return float("-inf")
                continue
            if not np.all(np.isfinite(b[np.isfinite(a)])):
                return float("-inf")
            a2 = np.nan_to_num(a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)).astype(np.float64)
            b2 = np.nan_to_num(b.reshape(a2.shape)).astype(np.float64)
            na, nb = np.linalg.norm(a2, axis=1), np.linalg.norm(b2, axis=1)
            both_zero = (na == 0) & (nb == 0)
            cos = np.where(both_zero, 1.0, (a2 * b2).sum(1) / np.maximum(na * nb, 1e-30))
            worst = min(worst, float(cos.min()))
    return worst


# ---------------------------------------------------------------- the entry point


def _io_signature(model: onnx.ModelProto) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    inits = {i.name for i in model.graph.initializer}
    ins = [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input if i.name not in inits]
    outs = [(o.name, o.type.tensor_type.elem_type) for o in model.graph.output]
    return ins, outs


def fuse_transformer(
    model_path: Path,
    out_path: Path,
    *,
    feeds: list[dict[str, Any]] | None = None,
    embed_layer_norm: bool = True,
    keep_names: tuple[str, ...] = (),
) -> FusionReport:
    """Canonicalize and fuse `model_path` into ORT's transformer ops, check it, and write it to `out_path`.

    `embed_layer_norm=False` keeps the embedding Gathers as Gathers (needed for 4-bit GatherBlockQuantized tables).
    `keep_names`: nodes that must still exist afterwards (e.g. a quantizer's exclusion list); if fusion would remove
    one, nothing is written. Writes `out_path` only when `report.fused`.
    """
    import onnx
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions

    from shrinkwise.compression import onnx_utils as ou

    try:
        model = ou.load(model_path)
        signature = _io_signature(model)
        canon: dict[str, int] = {}
        with ou.quiet():
            canon["softmax NaN guard(s)"] = remove_softmax_nan_guards(model)
            canon["split q/k scale(s)"] = merge_split_qk_scale(model)
            model, canon["identity Reshape(s)"] = remove_identity_reshapes(model)
            heads, hidden = attention_shape(model) or (0, 0)  # 0: let ORT try its own detection
            options = FusionOptions("bert")
            options.attention_mask_format = AttentionMaskFormat.AttentionMask
            options.enable_embed_layer_norm = embed_layer_norm
            with tempfile.TemporaryDirectory(prefix="shrinkwise-fuse-") as tmp:
                canon_path = Path(tmp) / "canonical.onnx"
                ou.save(model, canon_path)
                optimized = optimizer.optimize_model(
                    str(canon_path),
                    model_type="bert",
                    num_heads=heads,
                    hidden_size=hidden,
                    optimization_options=options,
                    opt_level=0,  # the Python fusions only; ORT's own optimizer runs at session creation
                )
                # saving adds the com.microsoft opset import and sorts the graph topologically
                fused_path = Path(tmp) / "fused.onnx"
                optimized.save_model_to_file(
                    str(fused_path), use_external_data_format=ou.file_bytes(model_path) > ou.EXTERNAL_DATA_ABOVE
                )
                fused_model = ou.load(fused_path)
        ops = Counter(n.op_type for n in fused_model.graph.node)
        report_ops = {op: ops[op] for op in FUSED_OPS if ops.get(op)}
        if not ops.get("Attention") and not ops.get("MultiHeadAttention"):
            return FusionReport(False, NO_ATTENTION, report_ops, canon)
        if _io_signature(fused_model) != signature:
            return FusionReport(False, "fusion changed the graph's inputs or outputs", report_ops, canon)
        lost = [n for n in keep_names if n not in ou.node_names(fused_model)]
        if lost:
            return FusionReport(
                False,
                f"fusion would remove {len(lost)} node(s) that must stay float32 (e.g. {lost[0]!r})",
                report_ops,
                canon,
            )
        out_path = Path(out_path)
        ou.save(fused_model, out_path)
        onnx.checker.check_model(str(out_path))  # by path: a model with external data is checked too
        checks = feeds or generated_feeds(ou.load(model_path))
        cos = _min_cosine(_run(Path(model_path), checks), _run(out_path, checks))
        if not cos >= MIN_COSINE:
            out_path.unlink(missing_ok=True)
            what = (
                "non-finite or mismatched outputs" if cos == float("-inf") else f"min cosine {cos:.6f} < {MIN_COSINE}"
            )
            return FusionReport(
                False,
                f"the fused graph does not match the original ({what} on {len(checks)} feed(s))",
                report_ops,
                canon,
                cos,
            )
        return FusionReport(True, "", report_ops, canon, cos)
    except Exception as exc:  # noqa: BLE001 - fusion is an optimization: say why and keep the unfused graph
        Path(out_path).unlink(missing_ok=True)
        text = str(exc).splitlines()[0] if str(exc) else ""
        return FusionReport(False, f"fusion failed ({type(exc).__name__}: {text})")
