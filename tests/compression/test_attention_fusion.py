"""int8_dynamic's `fuse_attention`: a BERT-like encoder is fused into ONNX Runtime's Attention / SkipLayerNormalization
/ BiasGelu / EmbedLayerNormalization ops before quantization, so attention runs as QAttention.

The encoder is built here in torch (no `transformers` dependency) and exported with the TorchScript exporter in the
shape that exporter writes for `F.scaled_dot_product_attention` in transformers' BERT (MiniLM): q and k each scaled by
sqrt(1/sqrt(d)) before their MatMul, an additive mask from `attention_mask` made with Where, and the exporter's
softmax NaN guard `Where(IsNaN(p), 0, p)`. ONNX Runtime's optimizer does not fuse that graph as exported; the
canonicalizations in `_transformer_fusion` make it fuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from shrinkwise.compression.events import LogLine
from shrinkwise.compression.measure.quality import cosine_per_sample
from shrinkwise.compression.measure.runtime import make_session
from shrinkwise.compression.technique_api import Artifact, TechniqueContext
from shrinkwise.compression.techniques import _transformer_fusion as tf
from shrinkwise.compression.techniques import int8_dynamic
from tests.compression.techniques.helpers import run

VOCAB, HIDDEN, HEADS, FFN, LAYERS, POSITIONS = 2048, 64, 4, 128, 2, 64
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _encoder_module() -> torch.nn.Module:
    nn, F = torch.nn, torch.nn.functional

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head_dim = HIDDEN // HEADS
            self.q, self.k, self.v, self.o = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))
            self.ln1, self.ln2 = nn.LayerNorm(HIDDEN, eps=1e-12), nn.LayerNorm(HIDDEN, eps=1e-12)
            self.up, self.down = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape

            def heads(y: torch.Tensor) -> torch.Tensor:
                return y.view(b, t, -1, self.head_dim).transpose(1, 2)

            # what the TorchScript exporter writes for scaled_dot_product_attention(q, k, v, mask, scale=d**-0.5)
            c = (self.head_dim**-0.5) ** 0.5
            scores = (heads(self.q(x)) * c) @ (heads(self.k(x)).transpose(-2, -1) * c) + mask
            p = torch.softmax(scores, dim=-1)
            p = torch.where(torch.isnan(p), torch.zeros((), dtype=p.dtype), p)
            a = (p @ heads(self.v(x))).transpose(1, 2).reshape(b, t, -1)
            x = self.ln1(self.o(a) + x)
            return self.ln2(self.down(F.gelu(self.up(x))) + x)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.position = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(POSITIONS, HIDDEN)
            self.segment = nn.Embedding(2, HIDDEN)
            self.ln = nn.LayerNorm(HIDDEN, eps=1e-12)
            self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
            self.register_buffer("position_ids", torch.arange(POSITIONS)[None], persistent=False)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            b, t = input_ids.shape
            positions: torch.Tensor = self.position_ids  # type: ignore[assignment]
            x = self.ln(self.word(input_ids) + self.segment(token_type_ids) + self.position(positions[:, :t]))
            # transformers' additive mask: 0 where attended, the lowest float where padded
            inverted = 1.0 - attention_mask[:, None, None, :].expand(b, 1, t, t).to(x.dtype)
            mask = inverted.masked_fill(inverted.to(torch.bool), torch.finfo(x.dtype).min)
            for layer in self.layers:
                x = layer(x, mask)
            m = attention_mask.unsqueeze(-1).to(x.dtype)
            return (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # mean pooling, as sentence-transformers does

    torch.manual_seed(0)
    return Encoder().eval()


def export_encoder(path: Path) -> Path:
    ids = torch.randint(0, VOCAB, (2, 8))
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {k: {0: "batch", 1: "seq"} for k in INPUTS} | {"sentence_embedding": {0: "batch"}}
    with pytest.warns(DeprecationWarning):  # the TorchScript exporter, as bench/minilm.py uses
        torch.onnx.export(
            _encoder_module(),
            args,
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=list(INPUTS),
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
        )
    return path


def batch(n: int = 32, seq: int = 12, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.ones((n, seq), dtype=np.int64)
    lengths = rng.integers(3, seq + 1, n)
    for i, length in enumerate(lengths):
        if i % 2:
            mask[i, length:] = 0  # right padding
        else:
            mask[i, : seq - length] = 0  # left padding
    return {
        "input_ids": rng.integers(0, VOCAB, (n, seq)).astype(np.int64),
        "attention_mask": mask,
        "token_type_ids": np.zeros((n, seq), dtype=np.int64),
    }


def cosines(reference: Path, candidate: Path, data: dict[str, np.ndarray]) -> np.ndarray:
    return cosine_per_sample(make_session(reference).run(None, data)[0], make_session(candidate).run(None, data)[0])


def ops(path: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def quantize(src: Path, out_dir: Path, **settings: object) -> tuple[Path, Artifact, list[str]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    events, art = run(
        int8_dynamic.apply,
        TechniqueContext(onnx_path=src, out_dir=out_dir),
        int8_dynamic.Config(per_channel=True, **settings),  # type: ignore[arg-type]
    )
    return out_dir / art.path, art, [e.text for e in events if isinstance(e, LogLine)]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_encoder(tmp_path_factory.mktemp("bert") / "encoder.onnx")


def test_the_export_has_the_sdpa_shape_ort_does_not_fuse(encoder: Path) -> None:
    exported = ops(encoder)
    assert "IsNaN" in exported and "Attention" not in exported
    model = onnx.load(str(encoder))
    assert tf.remove_softmax_nan_guards(model) == LAYERS
    assert tf.merge_split_qk_scale(model) == LAYERS


def test_fusion_gives_attention_ops_that_match_the_float_graph(encoder: Path, tmp_path: Path) -> None:
    report = tf.fuse_transformer(encoder, tmp_path / "fused.onnx")
    assert report.fused, report.reason
    assert report.ops == {
        "Attention": LAYERS,
        "SkipLayerNormalization": 2 * LAYERS,
        "BiasGelu": LAYERS,
        "EmbedLayerNormalization": 1,
    }
    assert report.canonicalized["softmax NaN guard(s)"] == LAYERS
    assert report.canonicalized["split q/k scale(s)"] == LAYERS
    fused = ops(tmp_path / "fused.onnx")
    assert "Softmax" not in fused and "IsNaN" not in fused
    # left- and right-padded rows alike: the raw 2-D mask is kept (ORT's BERT default would break left padding)
    cos = cosines(encoder, tmp_path / "fused.onnx", batch())
    assert cos.min() >= 0.9999, cos.min()
    assert report.min_cosine is not None and report.min_cosine >= tf.MIN_COSINE


def test_int8_dynamic_auto_writes_qattention_as_accurate_as_unfused(encoder: Path, tmp_path: Path) -> None:
    fused_path, fused_art, logs = quantize(encoder, tmp_path / "fused")
    plain_path, plain_art, _ = quantize(encoder, tmp_path / "plain", fuse_attention="off")

    assert ops(fused_path).count("QAttention") == LAYERS and "QAttention" not in ops(plain_path)
    assert fused_art.details["quantized_attention"] == LAYERS
    assert fused_art.details["fused_ops"]["Attention"] == LAYERS and plain_art.details["fused_ops"] == {}
    assert any("fused with ONNX Runtime's transformer optimizer" in line and "2 Attention" in line for line in logs)
    assert any("Attention was fused first" in note and "QAttention" in note for note in fused_art.notes)
    # the embeddings are not fused: their Gathers keep per-channel int8 tables, as without fusion
    assert "EmbedLayerNormalization" not in fused_art.details["fused_ops"]
    assert fused_art.details["quantized_gathers"] == plain_art.details["quantized_gathers"] == 3
    assert fused_art.size_bytes <= plain_art.size_bytes * 1.05

    data = batch()
    fused_cos, plain_cos = cosines(encoder, fused_path, data), cosines(encoder, plain_path, data)
    print(
        f"unfused int8 cos {plain_cos.mean():.4f}/{plain_cos.min():.4f}; fused {fused_cos.mean():.4f}/{fused_cos.min():.4f}"
    )
    assert fused_cos.mean() >= plain_cos.mean() - 0.002
    assert fused_cos.min() >= plain_cos.min() - 0.005


def test_4_bit_tables_keep_their_gather(encoder: Path, tmp_path: Path) -> None:
    path, art, _ = quantize(encoder, tmp_path, embedding_bits=4)
    found = ops(path)
    assert found.count("GatherBlockQuantized") == 1 and art.details["int4_gathers"] == 1
    assert found.count("QAttention") == LAYERS and "EmbedLayerNormalization" not in art.details["fused_ops"]
    assert cosines(encoder, path, batch()).mean() >= 0.98


def test_excluded_node_that_fusion_would_remove_keeps_the_graph_unfused(encoder: Path, tmp_path: Path) -> None:
    query = next(n.name for n in onnx.load(str(encoder)).graph.node if n.op_type == "MatMul" and "/q/" in n.name)
    path, art, logs = quantize(encoder, tmp_path, nodes_to_exclude=(query,))
    assert "QAttention" not in ops(path) and art.details["fused_ops"] == {}
    assert any("attention fusion not applied" in line and "must stay float32" in line for line in logs)
    assert query in {n.name for n in onnx.load(str(path)).graph.node}  # still float32, as asked


def test_excluded_nodes_that_survive_fusion_stay_float_in_the_fused_graph(encoder: Path, tmp_path: Path) -> None:
    graph = onnx.load(str(encoder)).graph
    ffn = next(n.name for n in graph.node if n.op_type == "MatMul" and "/up/" in n.name)
    word = next(n.name for n in graph.node if n.op_type == "Gather" and n.input[0].startswith("word"))
    path, art, _ = quantize(encoder, tmp_path, nodes_to_exclude=(ffn, word))
    quantized = onnx.load(str(path)).graph
    assert [n.op_type for n in quantized.node].count("QAttention") == LAYERS
    # the excluded Gather stays a float Gather, the FFN MatMul a float MatMul
    kept = {n.name: n for n in quantized.node}
    assert kept[ffn].op_type == "MatMul" and kept[word].op_type == "Gather"
    assert kept[word].input[0] in {i.name for i in quantized.initializer if i.data_type == onnx.TensorProto.FLOAT}


def test_a_model_that_is_not_a_transformer_is_untouched(tmp_path: Path) -> None:
    from tests.compression.test_embedding_bits import tiny_text_encoder

    src = tiny_text_encoder(tmp_path / "mlp.onnx")  # Gathers and MatMuls, no attention, no layer norm
    path, art, logs = quantize(src, tmp_path / "out")
    assert art.details["fused_ops"] == {} and not any("fusion" in line for line in logs)
    assert not any("Attention" in note for note in art.notes)
    assert {"Attention", "QAttention", "SkipLayerNormalization"}.isdisjoint(ops(path))


def test_a_graph_that_fails_the_check_falls_back_with_the_reason(
    encoder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pretend the fused graph disagrees with the original: it must not be used
    monkeypatch.setattr(tf, "_min_cosine", lambda ref, got: 0.5)
    path, art, logs = quantize(encoder, tmp_path)
    assert "QAttention" not in ops(path) and art.details["fused_ops"] == {}
    assert any("does not match the original" in line and "quantizing the unfused graph" in line for line in logs)
    assert any("Attention was not fused" in note for note in art.notes)


def test_a_graph_without_attention_to_fuse_says_so(tmp_path: Path) -> None:
    # layer norm + GELU + MatMul (looks like a transformer) but no attention block
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 8])
    rng = np.random.default_rng(0)
    inits = [
        onnx.numpy_helper.from_array(rng.normal(size=(8, 8)).astype(np.float32), "w"),
        onnx.numpy_helper.from_array(np.ones(8, np.float32), "g"),
        onnx.numpy_helper.from_array(np.zeros(8, np.float32), "b"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
        helper.make_node("LayerNormalization", ["h", "g", "b"], ["n"], name="ln", axis=-1),
        helper.make_node("Softmax", ["n"], ["y"], name="sm", axis=-1),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y], inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.save(model, str(tmp_path / "m.onnx"))
    report = tf.fuse_transformer(tmp_path / "m.onnx", tmp_path / "fused.onnx")
    assert not report.fused and report.nothing_to_fuse and "no attention block" in report.reason
    assert not (tmp_path / "fused.onnx").exists()
    # int8_dynamic says so in its log, quantizes the graph as it is, and adds no note about attention
    path, art, logs = quantize(tmp_path / "m.onnx", tmp_path / "q")
    assert any("no attention block" in line and "quantizing the unfused graph" in line for line in logs)
    assert not any("ttention" in note for note in art.notes)
    assert ops(path).count("MatMulInteger") == 1 and art.details["fused_ops"] == {}


def test_the_check_rejects_non_finite_and_changed_outputs() -> None:
    ref = [[np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), np.array([1, 2], np.int64)]]
    assert tf._min_cosine(ref, ref) == pytest.approx(1.0)
    nan = [[np.array([[1.0, 2.0], [np.nan, 4.0]], np.float32), ref[0][1]]]
    assert tf._min_cosine(ref, nan) == float("-inf")
    other_ids = [[ref[0][0], np.array([1, 3], np.int64)]]
    assert tf._min_cosine(ref, other_ids) == float("-inf")
    flipped = [[np.array([[1.0, 2.0], [-3.0, -4.0]], np.float32), ref[0][1]]]
    assert tf._min_cosine(ref, flipped) == pytest.approx(-1.0)  # per sample: one bad row is enough


def test_generated_feeds_index_inside_the_tables_and_pad_both_sides(encoder: Path) -> None:
    feeds = tf.generated_feeds(onnx.load(str(encoder)))
    for feed in feeds:
        assert set(feed) == set(INPUTS)
        assert 0 <= feed["input_ids"].min() and feed["input_ids"].max() < VOCAB
        assert feed["token_type_ids"].max() < 2
        mask = feed["attention_mask"]
        assert mask[1, -1] == 0 and mask[1, 0] == 1  # right-padded row
        assert mask[2, 0] == 0 and mask[2, -1] == 1  # left-padded row
