#!/usr/bin/env python3
"""Shrinkwise on-device benchmark. Needs only Python 3.8+, numpy and onnxruntime.

    python run_benchmark.py [--threads 1] [--device-name "my board"] [--out results.json]

It reads manifest.json beside it, checks the model files' hashes, then measures on this machine:
  * latency at batch 1: warm-up, then repeats (candidate and original interleaved when both are here), median / p90;
  * peak memory: how much a fresh process grows while loading and running the candidate (Linux and macOS);
  * output agreement with the original on the included sample inputs (when samples.npz and original.onnx are here),
    every output scored by its task as Shrinkwise scores it on the host (the data spec in manifest.json says where
    each input's samples are, which inputs are constants, and what each output is).
Then it writes results.json. Bring that file back and run:  shrinkwise import-results PROJECT results.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

RESULTS_VERSION = 2
SQNR_CAP_DB = 200.0  # identical outputs have infinite SQNR; JSON cannot hold it
NEIGHBOUR_SAMPLES = 2000  # nearest-neighbour agreement compares all pairs: cap the quadratic cost
MAX_DISAGREEMENTS = 200
HERE = os.path.dirname(os.path.abspath(__file__))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_session(path, threads, provider):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=opts, providers=[provider])


def _numpy_dtype(onnx_type):
    import numpy as np

    table = {
        "tensor(float)": np.float32,
        "tensor(float16)": np.float16,
        "tensor(double)": np.float64,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
        "tensor(int8)": np.int8,
        "tensor(uint8)": np.uint8,
        "tensor(bool)": np.bool_,
    }
    return table.get(onnx_type, np.float32)


# --- the data spec: where each input's samples are (mirrors shrinkwise.compression.io_spec) ---------------------


def input_axes(manifest, names):
    """Input name -> samples axis (None for a constant fed whole). A bundle without a spec has samples on axis 0."""
    spec = (manifest.get("data_spec") or {}).get("inputs") or {}
    axes = {}
    for name in names:
        entry = spec.get(name) or {}
        axes[name] = None if entry.get("kind") == "constant" else int(entry.get("batch_axis", 0) or 0)
    return axes


def take(array, axis, start, stop):
    """Samples start..stop of `array` along `axis`; a constant (axis None) whole."""
    import numpy as np

    if axis is None or array.ndim <= axis:
        return array
    where = [slice(None)] * array.ndim
    where[axis] = slice(start, stop)
    return np.ascontiguousarray(array[tuple(where)])


def sample_count(inputs, axes):
    for name, arr in inputs.items():
        axis = axes.get(name, 0)
        if axis is not None:
            return int(arr.shape[axis]) if arr.ndim > axis else 1
    return 1


def first_sample(samples, axes):
    return {k: take(v, axes.get(k, 0), 0, 1) for k, v in samples.items()}


def generated_feed(session, seed=0):
    """One batch-1 input per model input, from the model's own shapes (dynamic axes become 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feed = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        dtype = _numpy_dtype(inp.type)
        if np.issubdtype(dtype, np.floating):
            feed[inp.name] = rng.random(shape).astype(dtype)
        else:
            feed[inp.name] = np.zeros(shape, dtype=dtype)
    return feed


def load_samples(path, names):
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        return {n: archive[n] for n in names if n in archive.files}


def stats(times_ms):
    import numpy as np

    a = np.asarray(times_ms, dtype=np.float64)
    q1, q3 = np.percentile(a, [25, 75])
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
        "iqr": float(q3 - q1),
        "runs": int(a.size),
    }


def time_models(sessions, feed, warmup, repeats, rounds, max_seconds):
    """Interleave the models in rounds so that drift (heat, other load) hits them alike."""
    for sess in sessions.values():
        for _ in range(warmup):
            sess.run(None, feed)
    per_round = max(1, repeats // rounds)
    times = {name: [] for name in sessions}
    deadline = time.perf_counter() + max_seconds
    for r in range(rounds):
        order = list(sessions) if r % 2 == 0 else list(reversed(list(sessions)))
        for name in order:
            sess = sessions[name]
            sess.run(None, feed)
            for _ in range(per_round):
                t0 = time.perf_counter()
                sess.run(None, feed)
                times[name].append((time.perf_counter() - t0) * 1e3)
        if r >= 2 and time.perf_counter() > deadline:
            break
    return {name: stats(t) for name, t in times.items()}


def _status_mb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(key)


def memory_child(model, threads, provider, samples):
    """Run in a fresh process: peak resident memory added by loading and running the model, in MB."""
    import resource

    import numpy as np  # noqa: F401  (loaded before the baseline is taken, like onnxruntime)
    import onnxruntime  # noqa: F401

    linux = sys.platform.startswith("linux")
    if linux:
        before = _status_mb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset the peak (VmHWM) to the current RSS
        except OSError:
            pass
    else:
        scale = 2.0**20 if sys.platform == "darwin" else 1024.0
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    sess = make_session(model, threads, provider)
    feed = None
    if samples and os.path.exists(samples):
        names = [i.name for i in sess.get_inputs()]
        data = load_samples(samples, names)
        if len(data) == len(names):
            with open(os.path.join(HERE, "manifest.json"), encoding="utf-8") as fh:
                feed = first_sample(data, input_axes(json.load(fh), names))
    if feed is None:
        feed = generated_feed(sess)
    for _ in range(5):
        sess.run(None, feed)
    if linux:
        peak = _status_mb("VmHWM")
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    print(json.dumps({"peak_mb": peak - before}))


def peak_memory_mb(model, threads, provider, samples):
    if sys.platform.startswith("win"):
        return None, "not measured on Windows"
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--memory-child",
        model,
        "--threads",
        str(threads),
        "--provider",
        provider,
    ]
    if samples:
        cmd += ["--samples", samples]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, "memory child failed: %s" % exc.__class__.__name__
    if proc.returncode != 0:
        return None, "memory child failed: " + (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
    return round(json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"], 3), ""


def run_all(sess, inputs, axes, declared_out_axes):
    """Every output over all samples, samples on axis 0, each gathered along its own samples axis.

    The same rules as Shrinkwise's host runner: inputs sliced along their samples axis (constants whole); an
    output's samples axis is the one named like a batched input's dynamic batch axis, else the declared one, else
    axis 0 when it has the batch's length, else the first axis that has it; an output with none keeps the first
    batch's value. A model exported with a fixed batch is run that many samples at a time.
    """
    import numpy as np

    names = [i.name for i in sess.get_inputs()]
    batch_dims, fixed = set(), None
    for meta in sess.get_inputs():
        axis = axes.get(meta.name, 0)
        if axis is None or axis >= len(meta.shape):
            continue
        dim = meta.shape[axis]
        if isinstance(dim, int) and dim >= 1:
            fixed = fixed or dim
        elif isinstance(dim, str):
            batch_dims.add(dim)
    batch = fixed or 64
    order = [o.name for o in sess.get_outputs()]
    named = {}
    for meta in sess.get_outputs():
        if meta.name in declared_out_axes:
            named[meta.name] = declared_out_axes[meta.name]
            continue
        shape = meta.shape or []
        named[meta.name] = next((i for i, d in enumerate(shape) if isinstance(d, str) and d in batch_dims), -1)
    n = sample_count({k: inputs[k] for k in names}, axes)
    chunks = {name: [] for name in order}
    out_axes = {}
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        results = sess.run(None, {k: take(inputs[k], axes.get(k, 0), start, stop) for k in names})
        for name, value in zip(order, results):  # noqa: B905 - Python 3.8 has no strict=
            value = np.asarray(value)
            if name not in out_axes:
                out_axes[name] = _samples_axis(value, named[name], stop - start)
            chunks[name].append(value)
    out = {}
    for name in order:
        axis, parts = out_axes.get(name), chunks[name]
        if not parts:
            continue
        out[name] = parts[0] if axis is None else np.moveaxis(np.concatenate(parts, axis=axis), axis, 0)
    return out


def _samples_axis(value, named, count):
    if named is not None and 0 <= named < value.ndim:
        return named
    if named is None:
        return None
    if value.ndim and value.shape[0] == count:
        return 0
    return next((i for i, d in enumerate(value.shape) if d == count), None)


# --- scoring: a numpy copy of shrinkwise.compression.measure.tasks.score_output (fidelity only, no labels) -------


def sqnr_db(ref, cand):
    import numpy as np

    noise = float(np.sum((ref.ravel() - cand.ravel()) ** 2))
    if noise == 0.0:
        return SQNR_CAP_DB
    return min(SQNR_CAP_DB, float(10.0 * np.log10(max(float(np.sum(ref.ravel() ** 2)), 1e-30) / noise)))


def cosine_per_sample(ref, cand):
    import numpy as np

    a, b = ref.reshape(len(ref), -1), cand.reshape(len(cand), -1)
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.sum(a * b, axis=1)
    return np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), np.where(np.all(a == b, axis=1), 1.0, 0.0))


def decisions(task, values, threshold):
    import numpy as np

    flat = values.reshape(len(values), -1)
    if task == "binary":
        return (flat[:, 0] >= (0.5 if threshold is None else threshold)).astype(np.int64)
    if flat.shape[1] == 1:
        return flat[:, 0].astype(np.int64)
    return flat.argmax(axis=1)


def nearest_neighbours(vectors):
    import numpy as np

    v = vectors.reshape(len(vectors), -1)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-30)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(axis=1)


def score_output(task, reference, candidate, threshold=None):
    """(metrics, disagreements) of `candidate` against `reference` (samples first) for the output's task."""
    import numpy as np

    ref, cand = reference.astype(np.float64), candidate.astype(np.float64)
    n = len(ref)
    metrics = {"sqnr_db": sqnr_db(ref, cand)}
    changed = []
    if n == 0 or task == "ignore":
        return metrics, changed
    width = int(np.prod(ref.shape[1:])) if ref.ndim > 1 else 1
    if width > 1:
        cos = cosine_per_sample(ref, cand)
        metrics["cosine_mean"], metrics["cosine_min"] = float(np.mean(cos)), float(np.min(cos))
    if task in ("classification", "binary"):
        a, b = decisions(task, ref, threshold), decisions(task, cand, threshold)
        metrics["top1_agreement" if task == "classification" else "decision_agreement"] = float(np.mean(a == b))
        changed = np.nonzero(a != b)[0].tolist()
        if task == "binary":
            metrics["mean_abs_error"] = float(np.mean(np.abs(ref - cand)))
    elif task == "embedding":
        m = min(n, NEIGHBOUR_SAMPLES)
        if m >= 3:
            a, b = nearest_neighbours(ref[:m]), nearest_neighbours(cand[:m])
            metrics["nn_agreement"] = float(np.mean(a == b))
            changed = np.nonzero(a != b)[0].tolist()
    elif task == "regression":
        norm = float(np.linalg.norm(ref))
        diff = float(np.linalg.norm(ref - cand))
        rel = diff / norm if norm > 0 else float(diff > 0)
        metrics["relative_error"] = rel
        metrics["value_fidelity"] = max(0.0, 1.0 - rel)
        metrics["mean_abs_error"] = float(np.mean(np.abs(ref - cand)))
    elif task == "sequence":
        frames = ref.shape[-1]
        cos = cosine_per_sample(ref.reshape(-1, frames), cand.reshape(-1, frames))
        metrics["frame_cosine_mean"], metrics["frame_cosine_min"] = float(np.mean(cos)), float(np.min(cos))
    if "cosine_mean" not in metrics and task in ("binary", "regression"):
        metrics["cosine_mean"] = float(cosine_per_sample(ref.reshape(1, -1), cand.reshape(1, -1))[0])
    return {k: v for k, v in metrics.items() if np.isfinite(v)}, changed


def output_specs(manifest, order):
    """The outputs to score, as the host chose their tasks; without a spec, output 0 as class scores or values."""
    listed = (manifest.get("data_spec") or {}).get("outputs")
    if listed:
        return listed
    return [{"name": order[0], "task": "classification", "threshold": None, "primary": True}] if order else []


def score_outputs(manifest, reference, candidate):
    out = []
    for spec in output_specs(manifest, list(reference)):
        name = spec["name"]
        ref, cand = reference.get(name), candidate.get(name)
        if ref is None or cand is None or ref.shape != cand.shape or ref.ndim == 0 or spec.get("task") == "ignore":
            continue
        metrics, changed = score_output(spec["task"], ref, cand, spec.get("threshold"))
        out.append(
            {
                "output": name,
                "task": spec["task"],
                "primary": bool(spec.get("primary")),
                "threshold": spec.get("threshold"),
                "samples": int(len(ref)),
                "metrics": metrics,
                "disagreements": [int(i) for i in changed[:MAX_DISAGREEMENTS]],
            }
        )
    return out


def device_info(name, provider, threads):
    import numpy as np
    import onnxruntime as ort

    return {
        "name": name or platform.node() or "device",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or "",
        "cpu_count": os.cpu_count() or 0,
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "provider": provider,
        "threads": threads,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description="Shrinkwise on-device benchmark (numpy + onnxruntime only)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1, as on the host)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=200, help="timed runs per model")
    p.add_argument("--rounds", type=int, default=10, help="interleaving rounds")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop timing after this long (at least 3 rounds)")
    p.add_argument("--provider", default="CPUExecutionProvider", help="ONNX Runtime execution provider")
    p.add_argument("--device-name", default="", help="how this device is named in the report")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    p.add_argument("--samples", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.threads, args.provider, args.samples)
        return 0

    with open(os.path.join(HERE, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    models = {}
    for role in ("candidate", "original"):
        entry = manifest["models"].get(role)
        if not entry:
            continue
        path = os.path.join(HERE, entry["file"])
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            print(
                "error: %s does not match the manifest (sha256 %s, expected %s): copy the bundle again"
                % (entry["file"], digest[:12], entry["sha256"][:12]),
                file=sys.stderr,
            )
            return 2
        models[role] = path

    sessions = {role: make_session(path, args.threads, args.provider) for role, path in models.items()}
    cand = sessions["candidate"]
    names = [i.name for i in cand.get_inputs()]
    axes = input_axes(manifest, names)
    samples_path = os.path.join(HERE, manifest["samples"]) if manifest.get("samples") else None
    samples = load_samples(samples_path, names) if samples_path and os.path.exists(samples_path) else {}
    if len(samples) == len(names):
        feed = first_sample(samples, axes)
        feed_note = "first included sample"
    else:
        samples = {}
        feed = generated_feed(cand)
        feed_note = "generated input"
    print("timing %s on %s (%d thread(s)) ..." % (" and ".join(sessions), args.provider, args.threads))
    latency = time_models(sessions, feed, args.warmup, args.repeats, args.rounds, args.max_seconds)
    memory, memory_note = (
        (None, "skipped")
        if args.no_memory
        else peak_memory_mb(models["candidate"], args.threads, args.provider, samples_path if samples else None)
    )
    outputs = None
    if samples and "original" in sessions:
        print("comparing outputs on %d sample(s) ..." % sample_count(samples, axes))
        declared = {
            o["name"]: o["batch_axis"]
            for o in (manifest.get("data_spec") or {}).get("outputs") or []
            if o.get("batch_axis") is not None
        }
        outputs = score_outputs(
            manifest, run_all(sessions["original"], samples, axes, declared), run_all(cand, samples, axes, declared)
        )
    results = {
        "results_version": RESULTS_VERSION,
        "bundle": {
            "bundle_version": manifest["bundle_version"],
            "project": manifest["project"],
            "candidate_id": manifest["candidate"]["id"],
            "candidate_label": manifest["candidate"]["label"],
            "model_sha256": manifest["models"]["candidate"]["sha256"],
            "original_sha256": manifest["models"].get("original", {}).get("sha256"),
        },
        "device": device_info(args.device_name, args.provider, args.threads),
        "settings": {
            "warmup": args.warmup,
            "repeats": args.repeats,
            "rounds": args.rounds,
            "batch": 1,
            "feed": feed_note,
        },
        "latency_ms": latency["candidate"],
        "original_latency_ms": latency.get("original"),
        "peak_memory_mb": memory,
        "memory_note": memory_note,
        "outputs": outputs,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, args.out)
    lat = results["latency_ms"]
    print("candidate latency: median %.4f ms, p90 %.4f ms over %d runs" % (lat["median"], lat["p90"], lat["runs"]))
    if results["original_latency_ms"]:
        print("original latency:  median %.4f ms" % results["original_latency_ms"]["median"])
    if memory is not None:
        print("peak memory: %.1f MB" % memory)
    for o in outputs or []:
        shown = ", ".join("%s %.4g" % (k, v) for k, v in sorted(o["metrics"].items()))
        print(
            "output %s (%s%s) on %d samples: %s"
            % (o["output"], o["task"], ", primary" if o["primary"] else "", o["samples"], shown)
        )
    print(
        "results written to %s — bring it back and run: shrinkwise import-results PROJECT %s"
        % (args.out, os.path.basename(args.out))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
