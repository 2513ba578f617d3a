"""One seeded split, one MAC counter, one transformer test in the engine: every caller gets the same answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from shrinkwise.compression.data import Dataset, seeded_split, split
from shrinkwise.compression.graph_ops import looks_like_transformer
from shrinkwise.compression.profile import count_macs, profile_model


def _model(nodes: list, inits: list, x_shape: list, y_shape: list) -> onnx.ModelProto:  # type: ignore[type-arg]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _w(name: str, *shape: int) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.FLOAT, list(shape), np.ones(shape, np.float32).ravel().tolist())


def test_one_mac_count_for_every_op_it_knows(tmp_path: Path) -> None:
    """Conv (1x8x6x6 out, 3x3x3 kernel), ConvTranspose (8x6x6 in spread over 2x2x2), Gemm (72 -> 10): by hand."""
    model = _model(
        [
            helper.make_node("Conv", ["x", "wc"], ["c"], kernel_shape=[3, 3]),
            helper.make_node("ConvTranspose", ["c", "wt"], ["t"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["t"], ["f"]),
            helper.make_node("Gemm", ["f", "wg"], ["y"]),
        ],
        [_w("wc", 8, 3, 3, 3), _w("wt", 8, 2, 2, 2), _w("wg", 2 * 12 * 12, 10)],
        ["batch", 3, 8, 8],
        ["batch", 10],
    )
    conv, deconv, gemm = 8 * 6 * 6 * 27, (8 * 6 * 6) * (2 * 2 * 2), 10 * 288
    assert count_macs(model) == conv + deconv + gemm
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert profile_model(path).total_macs == conv + deconv + gemm  # the profile counts with the same function


def test_one_transformer_test() -> None:
    cnn_with_softmax = ["Conv", "Relu", "MaxPool", "Gemm", "Softmax"]
    assert not looks_like_transformer(cnn_with_softmax)  # a classifier's final Softmax is not attention
    assert looks_like_transformer(["MatMul", "LayerNormalization", "Softmax", "Add"])
    assert looks_like_transformer(["MatMul", "ReduceMean", "Pow", "Sqrt", "Div", "Softmax"])  # decomposed LayerNorm
    assert looks_like_transformer(["Attention", "Gemm"])
    assert looks_like_transformer(["Conv", "LayerNormalization", "Erf", "MatMul"])  # ConvNeXt-like blocks
    assert not looks_like_transformer(["MatMul", "Relu", "Gemm"])


def test_the_advisor_and_int8_static_read_the_same_test() -> None:
    from shrinkwise.compression.profile_types import ModelProfile
    from shrinkwise.workspace import facts

    def family(ops: list[str]) -> str:
        prof = ModelProfile(
            file_bytes=1,
            parameters=1,
            weight_bytes_by_dtype={},
            op_count=len(ops),
            opset=17,
            ir_version=8,
            layers=[],
            op_histogram={o: 1 for o in ops},
        )
        return facts._arch_family(prof, 0.0)

    for ops in (["MatMul", "ReduceMean", "Pow", "Sqrt", "Softmax"], ["Gemm", "Softmax", "Relu"], ["Attention"]):
        assert (family(ops) == "transformer") == looks_like_transformer(ops), ops


def test_one_seeded_split_for_the_project_the_techniques_and_the_demo() -> None:
    n, seed = 40, 3
    head, rest = seeded_split(n, 10, seed)
    assert sorted(np.concatenate([head, rest]).tolist()) == list(range(n)) and len(head) == 10
    np.testing.assert_array_equal(seeded_split(n, 10, seed)[0], head)  # the same seed, the same samples
    ds = Dataset(inputs={"x": np.arange(n, dtype=np.float32)[:, None]})
    calibration, evaluation, training = split(ds, calibration_count=5, evaluation_fraction=0.25, seed=seed)
    assert evaluation.inputs["x"][:, 0].tolist() == sorted(seeded_split(n, 10, seed)[0].tolist())
    assert set(calibration.inputs["x"][:, 0]) <= set(training.inputs["x"][:, 0])
    assert not set(training.inputs["x"][:, 0]) & set(evaluation.inputs["x"][:, 0])

    from shrinkwise.compression.demo.train_digits import split_indices
    from shrinkwise.compression.technique_api import LabelledData, TechniqueContext
    from shrinkwise.compression.techniques._torch_utils import train_val_split

    train, held = split_indices(n, seed, train_fraction=0.75)
    assert held.tolist() == sorted(seeded_split(n, 30, seed)[1].tolist())
    ctx = TechniqueContext(
        onnx_path=Path("unused.onnx"),
        out_dir=Path("."),
        train=LabelledData({"x": np.arange(n, dtype=np.float32)[:, None]}, labels=np.zeros(n, np.int64)),
        seed=seed,
    )
    _, val, held_out = train_val_split(ctx, ["x"], holdout=0.25)
    assert held_out and val.inputs[0][:, 0].tolist() == seeded_split(n, 10, seed)[0].tolist()
