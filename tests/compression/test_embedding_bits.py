"""int8_dynamic's `embedding_bits=4`: the large embedding table in 4-bit blocks (ONNX Runtime GatherBlockQuantized),
the rest as before. Checked on a small transformer-like graph built here: a vocabulary Gather and a position Gather,
two MatMul layers and an opset-17 ReduceMean (whose `axes` moved from attribute to input in opset 18: a model
merely relabelled to opset 21, as ONNX Runtime's 4-bit quantizer does, no longer loads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from shrinkwise.compression.measure.quality import cosine_per_sample
from shrinkwise.compression.measure.runtime import make_session
from shrinkwise.compression.technique_api import Artifact, TechniqueContext
from shrinkwise.compression.techniques import int8_dynamic
from tests.compression.techniques.helpers import run

VOCAB, POSITIONS, HIDDEN, SEQ = 4096, 128, 64, 16
WORD_NODE = "word_embeddings"


def tiny_text_encoder(path: Path, vocab: int = VOCAB, seed: int = 0) -> Path:
    """input_ids, position_ids -> word + position embeddings -> MatMul/ReLU/MatMul -> minus its mean over tokens."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.05, (vocab, HIDDEN)).astype(f32), "word_table"),
        numpy_helper.from_array(rng.normal(0, 0.02, (POSITIONS, HIDDEN)).astype(f32), "position_table"),
        numpy_helper.from_array((rng.normal(size=(HIDDEN, 4 * HIDDEN)) / HIDDEN**0.5).astype(f32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.01, 4 * HIDDEN).astype(f32), "b1"),
        numpy_helper.from_array((rng.normal(size=(4 * HIDDEN, HIDDEN)) / (4 * HIDDEN) ** 0.5).astype(f32), "w2"),
        # an int64 constant looked up by a Gather, as exporters write for position-id buffers: not a weight table
        numpy_helper.from_array(np.arange(POSITIONS, dtype=np.int64), "position_buffer"),
    ]
    nodes = [
        helper.make_node("Gather", ["word_table", "input_ids"], ["word"], name=WORD_NODE),
        helper.make_node("Gather", ["position_buffer", "position_ids"], ["pos_ids"], name="position_ids_lookup"),
        helper.make_node("Gather", ["position_table", "pos_ids"], ["pos"], name="position_embeddings"),
        helper.make_node("Add", ["word", "pos"], ["emb"], name="add_embeddings"),
        helper.make_node("MatMul", ["emb", "w1"], ["h1"], name="fc1"),
        helper.make_node("Add", ["h1", "b1"], ["h1b"], name="fc1_bias"),
        helper.make_node("Relu", ["h1b"], ["a1"], name="act"),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"], name="fc2"),
        helper.make_node("ReduceMean", ["h2"], ["mean"], name="token_mean", axes=[1], keepdims=1),
        helper.make_node("Sub", ["h2", "mean"], ["out"], name="centre"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_text_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def feeds(vocab: int = VOCAB, n: int = 64) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "input_ids": rng.integers(0, vocab, (n, SEQ)).astype(np.int64),
        "position_ids": np.tile(np.arange(SEQ, dtype=np.int64), (n, 1)),
    }


def quantize(src: Path, out_dir: Path, **settings: object) -> tuple[Path, Artifact]:
    out_dir.mkdir(parents=True, exist_ok=True)
    _, art = run(
        int8_dynamic.apply,
        TechniqueContext(onnx_path=src, out_dir=out_dir),
        int8_dynamic.Config(per_channel=True, **settings),  # type: ignore[arg-type]
    )
    return out_dir / art.path, art


def cosines(reference: Path, candidate: Path, data: dict[str, np.ndarray]) -> np.ndarray:
    ref = make_session(reference).run(None, data)[0]
    got = make_session(candidate).run(None, data)[0]  # loads in ONNX Runtime: the contrib kernel exists
    return cosine_per_sample(ref, got)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_text_encoder(tmp_path_factory.mktemp("emb") / "encoder.onnx")


def test_vocabulary_table_in_4_bits_runs_smaller_and_close_to_float(encoder: Path, tmp_path: Path) -> None:
    int8_path, int8_art = quantize(encoder, tmp_path / "int8")
    int4_path, art = quantize(encoder, tmp_path / "int4", embedding_bits=4, embedding_block_size=64)

    model = onnx.load(str(int4_path))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("GatherBlockQuantized") == 1 and art.details["int4_gathers"] == 1
    # the small position table stays int8, the MatMuls are int8 as without the option
    assert art.details["quantized_gathers"] == 1 and int8_art.details["quantized_gathers"] == 2
    assert art.details["quantized_ops"]["MatMulInteger"] == int8_art.details["quantized_ops"]["MatMulInteger"] == 2
    assert next(o.version for o in model.opset_import if o.domain == "") == 21
    # 4-bit table: two values per byte, one float32 scale and one 4-bit zero point per 64 values of a row
    inits = {i.name: i for i in model.graph.initializer}
    assert inits["word_table_Q4"].data_type == TensorProto.UINT4
    assert len(inits["word_table_Q4"].raw_data) == VOCAB * HIDDEN // 2
    assert numpy_helper.to_array(inits["word_table_scales"]).shape == (VOCAB, HIDDEN // 64)
    table_int8 = VOCAB * HIDDEN  # bytes of the int8 table it replaces
    table_int4 = VOCAB * HIDDEN // 2 + VOCAB * 4 + VOCAB // 2
    saved = int8_art.size_bytes - art.size_bytes
    assert abs(saved - (table_int8 - table_int4)) < 0.02 * table_int8, (saved, table_int8 - table_int4)
    # the table is 86 % of this model's weights: about 3.9x smaller with int8 tables, 6x with the 4-bit one
    assert (
        art.details["original_bytes"] / art.size_bytes > 5.5 > 4.2 > art.details["original_bytes"] / int8_art.size_bytes
    )

    data = feeds()
    cos4, cos8 = cosines(encoder, int4_path, data), cosines(encoder, int8_path, data)
    print(f"int8 tables: cos {cos8.mean():.4f}/{cos8.min():.4f}; 4-bit vocabulary: {cos4.mean():.4f}/{cos4.min():.4f}")
    assert cos4.min() >= 0.98
    assert cos4.mean() >= cos8.mean() - 0.02  # the 4-bit table costs a little, not a collapse
    # labelled honestly: what is 4-bit, what stays float, and what the file needs
    assert "1 embedding table(s) to 4 bits" in art.summary
    note = next(n for n in art.notes if "4 bits" in n)
    assert "GatherBlockQuantized" in note and "opset is now 21" in note and "activations, are float32" in note


def test_default_keeps_tables_int8(encoder: Path, tmp_path: Path) -> None:
    path, art = quantize(encoder, tmp_path)
    assert "GatherBlockQuantized" not in {n.op_type for n in onnx.load(str(path)).graph.node}
    assert art.details["int4_gathers"] == 0 and art.details["quantized_gathers"] == 2


def test_excluded_table_stays_float(encoder: Path, tmp_path: Path) -> None:
    path, art = quantize(encoder, tmp_path, embedding_bits=4, nodes_to_exclude=(WORD_NODE,))
    model = onnx.load(str(path))
    word = next(n for n in model.graph.node if n.name == WORD_NODE)
    assert word.op_type == "Gather" and word.input[0] == "word_table"
    assert art.details["int4_gathers"] == 0
    assert any("embedding_bits=4 changed nothing" in n for n in art.notes)


def test_small_vocabulary_is_not_4_bit(tmp_path: Path) -> None:
    """A character-level table (256 rows) is cheap in int8; the option says it changed nothing."""
    src = tiny_text_encoder(tmp_path / "chars.onnx", vocab=256)
    path, art = quantize(src, tmp_path / "out", embedding_bits=4)
    assert art.details["int4_gathers"] == 0 and art.details["quantized_gathers"] == 2
    assert any(f"at least {int8_dynamic.INT4_TABLE_MIN_ROWS} rows" in n for n in art.notes)
    assert cosines(src, path, feeds(vocab=256)).min() >= 0.98


def test_gather_not_quantized_leaves_tables_alone(encoder: Path, tmp_path: Path) -> None:
    path, art = quantize(encoder, tmp_path, embedding_bits=4, op_types_to_quantize=("MatMul",))
    assert art.details["int4_gathers"] == 0 and art.details["quantized_gathers"] == 0
    assert any("Gather is not among op_types_to_quantize" in n for n in art.notes)


def test_int4_weight_only_embeddings_convert_the_opset_and_skip_integer_gathers(encoder: Path, tmp_path: Path) -> None:
    """int4_weight_only(quantize_embeddings=True) shares the guards: its file loads (ReduceMean converted, the int64
    position buffer left alone) and stays close to float."""
    from shrinkwise.compression.techniques import int4_weight_only

    _, art = run(
        int4_weight_only.apply,
        TechniqueContext(onnx_path=encoder, out_dir=tmp_path),
        int4_weight_only.Config(quantize_embeddings=True, block_size=64),
    )
    model = onnx.load(str(tmp_path / art.path))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("GatherBlockQuantized") == 2 and ops.count("MatMulNBits") == 2
    assert ops.count("Gather") == 1  # the int64 buffer look-up
    assert cosines(encoder, tmp_path / art.path, feeds()).min() >= 0.98
