"""Small ONNX graphs in the shapes real exporters produce (issue 12), built with onnx.helper: no torch, no downloads.

Each builder writes a checked model that ONNX Runtime loads and returns its path. Shapes stay tiny so tests are fast;
what matters is the graph's structure (Constant-node weights, a shared kernel, recurrent ops, a Cast that fp16
conversion breaks). Helpers A-D may use these too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(nodes: list[onnx.NodeProto], inputs, outputs, inits, path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    for i, node in enumerate(nodes):
        node.name = node.name or f"{node.op_type}_{i}"
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name + "_value"))


def constant_weights_cnn(path: Path, seed: int = 0) -> tuple[Path, int]:
    """Paddle2ONNX style: Conv and MatMul weights (and biases) are Constant nodes, no initializers.

    x [N,1,8,8] -> Conv 8x3x3 -> Relu -> Flatten -> MatMul [512,10] -> Add -> y [N,10]. Returns (path, parameters).
    """
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((8, 1, 3, 3)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((512, 10)) * 0.05).astype(np.float32)
    b2 = (rng.standard_normal(10) * 0.1).astype(np.float32)
    shape = np.array([-1, 512], dtype=np.int64)  # an integer Constant: stays a node
    nodes = [
        _const("conv_w", w),
        _const("conv_b", b),
        _const("fc_w", w2),
        _const("fc_b", b2),
        _const("flat_shape", shape),
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"]),
        helper.make_node("MatMul", ["f", "fc_w"], ["m"]),
        helper.make_node("Add", ["m", "fc_b"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    params = w.size + b.size + w2.size + b2.size
    return _save(nodes, [x], [y], [], path, "constant_weights"), params


def shared_kernel_cnn(path: Path, uses: int = 18, seed: int = 0) -> tuple[Path, int]:
    """One 4x4x3x3 kernel used by `uses` Conv nodes in a row (weight tying), then a small classifier head."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((4, 4, 3, 3)) * 0.15).astype(np.float32)
    head = (rng.standard_normal((4 * 8 * 8, 3)) * 0.05).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "k"], ["h0"], pads=[1, 1, 1, 1])]
    for i in range(1, uses):
        nodes.append(helper.make_node("Conv", [f"h{i - 1}", "k"], [f"h{i}"], pads=[1, 1, 1, 1]))
    shape = numpy_helper.from_array(np.array([-1, 4 * 8 * 8], dtype=np.int64), "shape")
    nodes += [
        helper.make_node("Reshape", [f"h{uses - 1}", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "head"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    inits = [numpy_helper.from_array(w, "k"), numpy_helper.from_array(head, "head"), shape]
    return _save(nodes, [x], [y], inits, path, "shared_kernel"), w.size + head.size + 2


def _recurrent_weights(op: str, n_in: int, hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    scale = 1.0 / np.sqrt(hidden)
    return {
        "W": (rng.uniform(-scale, scale, (1, gates * hidden, n_in))).astype(np.float32),
        "R": (rng.uniform(-scale, scale, (1, gates * hidden, hidden))).astype(np.float32),
        "B": (rng.uniform(-scale, scale, (1, 2 * gates * hidden))).astype(np.float32),
    }


def recurrent_classifier(
    path: Path, op: str = "LSTM", seq: int = 12, n_in: int = 16, hidden: int = 32, classes: int = 4, seed: int = 0
) -> Path:
    """x [N, seq, n_in] (samples on axis 0) -> Transpose -> LSTM/GRU/RNN -> last hidden state -> MatMul -> y [N, classes].

    The shape torch exports for `nn.LSTM(batch_first=True)` followed by a Linear on h_n.
    """
    rng = np.random.default_rng(seed)
    weights = _recurrent_weights(op, n_in, hidden, rng)
    head = (rng.standard_normal((hidden, classes)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node(op, ["xt", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "head"], ["y"]),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    inits += [numpy_helper.from_array(head, "head"), numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", seq, n_in])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])
    return _save(nodes, [x], [y], inits, path, f"{op.lower()}_classifier")


def lstm_inside_if(path: Path, seq: int = 6, n_in: int = 8, hidden: int = 8, seed: int = 0) -> tuple[Path, int]:
    """An LSTM inside an If's then-branch (TorchScript control flow): W and B live in the branch, R outside.

    Returns (path, parameters of the LSTM).
    """
    rng = np.random.default_rng(seed)
    weights = _recurrent_weights("LSTM", n_in, hidden, rng)
    then_nodes = [
        helper.make_node("LSTM", ["xt", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, name="inner_lstm"),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["then_out"], name="inner_squeeze"),
    ]
    then_graph = helper.make_graph(
        then_nodes,
        "then",
        [],
        [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, ["N", hidden])],
        [numpy_helper.from_array(weights["W"], "W"), numpy_helper.from_array(weights["B"], "B")],
    )
    else_graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["xt"], ["else_out"], axes=[0], keepdims=0, name="else_mean")],
        "else",
        [],
        [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, ["N", n_in])],
    )
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "threshold"], ["cond"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    inits = [
        numpy_helper.from_array(weights["R"], "R"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
        numpy_helper.from_array(np.array(-1e9, np.float32), "threshold"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", seq, n_in])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", hidden])
    lstm_params = sum(v.size for v in weights.values())
    return _save(nodes, [x], [y], inits, path, "lstm_in_if"), lstm_params


def cast_to_float_model(path: Path, seed: int = 0) -> Path:
    """A float32 `Cast(to=FLOAT)` feeding a MatMul's neighbour (the shape left by STFT/.pt2/tf2onnx ExpandDims).

    onnxconverter-common retypes the Cast's output to float16 but leaves the Cast producing float32, so its fp16
    graph fails to load with "Type (tensor(float16)) of output arg ... of node (Cast_1) does not match expected type".
    """
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((16, 8)) * 0.2).astype(np.float32)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Cast", ["s"], ["sf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMin", ["sf"], ["n"], keepdims=1),
        helper.make_node("MatMul", ["x", "W"], ["m"]),
        helper.make_node("Div", ["m", "n"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])
    return _save(nodes, [x], [y], [numpy_helper.from_array(w, "W")], path, "cast_to_float")


# --- output tasks and data specs (issue 12 items 1 and 2) ----------------------------------------------------------


def detector_head(path: Path, n_in: int = 16, classes: int = 5, seed: int = 0) -> Path:
    """Two outputs, a box regression first: x [N, n_in] -> `boxes` [N, 4] (MatMul) and `logits` [N, classes]
    (MatMul -> Relu -> MatMul), the layout of a face/object detector's last stage."""
    rng = np.random.default_rng(seed)
    wb = (rng.standard_normal((n_in, 4)) * 0.4).astype(np.float32)
    w1 = (rng.standard_normal((n_in, 32)) * 0.4).astype(np.float32)
    w2 = (rng.standard_normal((32, classes)) * 0.4).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "Wb"], ["boxes"]),
        helper.make_node("MatMul", ["x", "W1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "W2"], ["logits"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])
    outs = [
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", 4]),
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in {"Wb": wb, "W1": w1, "W2": w2}.items()]
    return _save(nodes, [x], outs, inits, path, "detector_head")


def binary_probability(path: Path, n_in: int = 8, seed: int = 0) -> Path:
    """x [N, n_in] -> MatMul -> Relu -> MatMul -> Sigmoid -> `prob` [N, 1]: one probability per sample."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((n_in, 16)) * 0.5).astype(np.float32)
    w2 = (rng.standard_normal((16, 1)) * 0.5).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "W2"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["prob"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])
    y = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")]
    return _save(nodes, [x], [y], inits, path, "binary_probability")


def embedding_encoder(path: Path, n_in: int = 16, dim: int = 24, seed: int = 0) -> Path:
    """x [N, n_in] -> MatMul -> Tanh -> MatMul -> `embedding` [N, dim], not normalised (a speaker/wake-word
    encoder's shape: argmax of it means nothing)."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((n_in, 32)) * 0.4).astype(np.float32)
    w2 = (rng.standard_normal((32, dim)) * 0.4).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("MatMul", ["t", "W2"], ["embedding"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])
    y = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")]
    return _save(nodes, [x], [y], inits, path, "embedding_encoder")


def stateful_vad(path: Path, chunk: int = 64, frames: int = 4, hidden: int = 16, seed: int = 0) -> Path:
    """A streaming voice-activity model in the layout of Silero VAD: inputs `input` [batch, chunk] (float),
    `state` [2, batch, hidden] (h and c of an LSTM, samples on axis 1) and a scalar int64 `sr`; outputs `output`
    [batch, 1] (speech probability) and `stateN` [2, batch, hidden] (the next state).

    The chunk is cut into `frames` frames, scaled by sr / 16000, run through an LSTM that starts from `state`.
    """
    rng = np.random.default_rng(seed)
    n_in = chunk // frames
    weights = _recurrent_weights("LSTM", n_in, hidden, rng)
    head = (rng.standard_normal((hidden, 1)) * 1.5).astype(np.float32)
    nodes = [
        helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["srf", "sr_ref"], ["scale"]),
        helper.make_node("Mul", ["input", "scale"], ["scaled"]),
        helper.make_node("Reshape", ["scaled", "frame_shape"], ["framed"]),
        helper.make_node("Transpose", ["framed"], ["xt"], perm=[1, 0, 2]),
        helper.make_node("Split", ["state", "halves"], ["h0", "c0"], axis=0),
        helper.make_node("LSTM", ["xt", "W", "R", "B", "", "h0", "c0"], ["Y", "Y_h", "Y_c"], hidden_size=hidden),
        helper.make_node("Concat", ["Y_h", "Y_c"], ["stateN"], axis=0),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "head"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["output"]),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    inits += [
        numpy_helper.from_array(head, "head"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
        numpy_helper.from_array(np.array([1, 1], np.int64), "halves"),
        numpy_helper.from_array(np.array(16000.0, np.float32), "sr_ref"),
        numpy_helper.from_array(np.array([-1, frames, n_in], np.int64), "frame_shape"),
    ]
    ins = [
        helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", chunk]),
        helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", hidden]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, []),
    ]
    outs = [
        helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1]),
        helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, "batch", hidden]),
    ]
    return _save(nodes, ins, outs, inits, path, "stateful_vad")
