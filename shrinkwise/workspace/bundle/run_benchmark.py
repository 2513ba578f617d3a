#!/usr/bin/env python3
"""Shrinkwise on-device benchmark. Needs only Python 3.8+, numpy and onnxruntime.

    python run_benchmark.py [--threads 1] [--device-name "my board"] [--out results.json]

It reads manifest.json beside it, checks the model files' hashes, then measures on this machine:
  * latency at batch 1: warm-up, then repeats (candidate and original interleaved when both are here), median / p90;
  * peak memory: how much a fresh process grows while loading and running the candidate (Linux and macOS);
  * output agreement with the original on the included sample inputs (when samples.npz and original.onnx are here).
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

RESULTS_VERSION = 1
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
        data = load_samples(samples, [i.name for i in sess.get_inputs()])
        if len(data) == len(sess.get_inputs()):
            feed = {k: v[:1] for k, v in data.items()}
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


def run_all(sess, inputs):
    """Outputs of the first model output for every sample (one at a time unless the batch axis is dynamic)."""
    import numpy as np

    names = [i.name for i in sess.get_inputs()]
    first = sess.get_inputs()[0].shape
    batch = first[0] if first and isinstance(first[0], int) and first[0] >= 1 else 64
    n = len(inputs[names[0]])
    chunks = []
    for start in range(0, n, batch):
        chunks.append(sess.run(None, {k: inputs[k][start : start + batch] for k in names})[0])
    return np.concatenate(chunks, axis=0)


def agreement(reference, candidate):
    import numpy as np

    ref = reference.astype(np.float64).reshape(len(reference), -1)
    cand = candidate.astype(np.float64).reshape(len(candidate), -1)
    noise = float(np.sum((ref - cand) ** 2))
    signal = float(np.sum(ref**2))
    sqnr = 200.0 if noise == 0 else min(200.0, 10 * np.log10(max(signal, 1e-30) / noise))
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    cos = np.where(norms > 0, np.sum(ref * cand, axis=1) / np.maximum(norms, 1e-30), 1.0)
    out = {
        "samples": int(len(ref)),
        "sqnr_db": float(sqnr),
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "max_abs_diff": float(np.max(np.abs(ref - cand))) if ref.size else 0.0,
        "top1_agreement": None,
        "disagreements": [],
    }
    if reference.ndim == 2 and reference.shape[1] >= 2:
        a, b = reference.argmax(axis=1), candidate.argmax(axis=1)
        out["top1_agreement"] = float(np.mean(a == b))
        out["disagreements"] = [int(i) for i in np.nonzero(a != b)[0][:200]]
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
    samples_path = os.path.join(HERE, manifest["samples"]) if manifest.get("samples") else None
    samples = load_samples(samples_path, names) if samples_path and os.path.exists(samples_path) else {}
    if len(samples) == len(names):
        feed = {k: v[:1] for k, v in samples.items()}
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
    agree = None
    if samples and "original" in sessions:
        print("comparing outputs on %d sample(s) ..." % len(next(iter(samples.values()))))
        agree = agreement(run_all(sessions["original"], samples), run_all(cand, samples))
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
        "agreement": agree,
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
    if agree and agree["top1_agreement"] is not None:
        print(
            "top-1 agreement with the original: %.2f %% on %d samples"
            % (agree["top1_agreement"] * 100, agree["samples"])
        )
    print(
        "results written to %s — bring it back and run: shrinkwise import-results PROJECT %s"
        % (args.out, os.path.basename(args.out))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
