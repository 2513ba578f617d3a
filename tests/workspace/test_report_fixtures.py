"""Shared set-up for the report, export and bundle tests: the demo project after a small sweep.

Built once per test process (a module-level cache, so every test module that imports it shares one build) and
copied for each test. Uses `workspace.runs.sweep` when it is installed; otherwise applies the techniques in-process
and measures them the same way, so these tests do not depend on the runner.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

_CACHE: dict[str, Path] = {}
SWEEP = ("fp16", "int8_dynamic")


def _in_process_candidate(session, technique: str):  # type: ignore[no-untyped-def]
    """Apply one technique and measure it without the runner (the same calls the worker makes)."""
    import importlib

    from shrinkwise.compression.measure.evaluate import measure_candidate
    from shrinkwise.compression.technique_api import TechniqueContext, drive
    from shrinkwise.workspace.hashing import sha256_file
    from shrinkwise.workspace.project import ArtifactRecord, Experiment, QualityDetails, RecipeStep, utc_now

    module = importlib.import_module(f"shrinkwise.compression.techniques.{technique}")
    config = module.Config()
    out_dir = session.artifacts / "runs" / f"sweep-{technique}"
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = TechniqueContext(onnx_path=session.onnx_path, out_dir=out_dir)
    artifact = drive(module.apply(ctx, config))
    path = out_dir / artifact.path
    evaluation = session.datasets()["evaluation"]
    result = measure_candidate(path, session.onnx_path, evaluation, out_dir / "measure", latency_seconds=0.5)
    recipe = [RecipeStep(technique=technique, config=config.model_dump(mode="json"))]
    exp = Experiment(
        id=f"sweep-{technique}",
        label=technique,
        kind="sweep",
        group="sweep-test",
        recipe=recipe,
        status="finished",
        started=utc_now(),
        finished=utc_now(),
        artifacts=[
            ArtifactRecord(
                path=session.relpath(path),
                size_bytes=path.stat().st_size,
                sha256=sha256_file(path),
                summary=artifact.summary,
                notes=artifact.notes,
                lineage=session.lineage(recipe),
            )
        ],
        measurements=result.measurements,
        quality=QualityDetails.model_validate(result.quality),
    )
    session.project.experiments.append(exp)
    session.save()
    return exp


def build_swept_demo(out: Path) -> Path:
    from shrinkwise.workspace.demo import build_demo

    session = build_demo(out)
    try:
        from shrinkwise.workspace.runs import sweep
    except ImportError:
        sweep = None
    if sweep is not None:
        sweep(session, SWEEP[0], "technique", list(SWEEP), latency_seconds=0.5)
    else:
        for t in SWEEP:
            _in_process_candidate(session, t)
    session.project.budget = {"size_mb": 0.25, "latency_ms": 5.0, "accuracy_drop_pts": 1.0}
    session.save()
    return session.path


def swept_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "demo" not in _CACHE:
        out = tmp_path_factory.mktemp("swept-demo")
        build_swept_demo(out)
        _CACHE["demo"] = out
    return _CACHE["demo"]


def copy_swept(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A fresh copy of the swept demo project; returns its project file."""
    dest = tmp_path / "demo"
    shutil.copytree(swept_template(tmp_path_factory), dest)
    return next(dest.glob("*.shrinkwise.json"))


@pytest.fixture
def swept_project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_swept(tmp_path_factory, tmp_path)


# --- reading our own PDFs without poppler (CI has no pdftotext) -----------------------------------------------------


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """Parse a PDF literal string starting after '(' at i; returns (bytes, index after ')')."""
    out = bytearray()
    depth = 1
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash
            nxt = data[i + 1]
            if nxt in escapes:
                out += escapes[nxt]
                i += 2
            elif 0x30 <= nxt <= 0x37:
                j = i + 1
                while j < i + 4 and j < len(data) and 0x30 <= data[j] <= 0x37:
                    j += 1
                out.append(int(data[i + 1 : j], 8) & 0xFF)
                i = j
            elif nxt in (0x0A, 0x0D):
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    return bytes(out), i


def pdf_text(pdf: bytes) -> str:
    """The text drawn in a PDF written by fpdf2 (Type0 fonts with ToUnicode maps, or core fonts), in drawing order."""
    import re
    import zlib

    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S):
        body = m.group(2)
        sm = re.search(rb"stream\r?\n(.*)\r?\nendstream", body, re.S)
        stream = None
        if sm:
            stream = sm.group(1)
            if b"/FlateDecode" in body[: sm.start()]:
                stream = zlib.decompress(stream)
        objects[int(m.group(1))] = (body[: sm.start()] if sm else body, stream)
    cmaps: dict[int, dict[int, str]] = {}
    for num, (head, _) in objects.items():
        tu = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if b"/Type /Font" in head and tu:
            stream = objects[int(tu.group(1))][1] or b""
            table: dict[int, str] = {}
            for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
                for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
            for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
                for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    for k in range(int(a, 16), int(b, 16) + 1):
                        table[k] = chr(int(c, 16) + k - int(a, 16))
            cmaps[num] = table
    names: dict[bytes, int] = {}
    for head, _ in objects.values():
        for name, num in re.findall(rb"/(F\d+) (\d+) 0 R", head):
            names[name] = int(num)
    out: list[str] = []
    for head, stream in objects.values():
        if (
            stream is None
            or b"Tf" not in stream
            or b"/Length1" in head
            or b"/Subtype /Image" in head
            or b"begincmap" in stream
        ):
            continue
        cmap: dict[int, str] | None = None
        i = 0
        while i < len(stream):
            c = stream[i : i + 1]
            if c == b"/":
                m = re.match(rb"/(F\d+)\s+[\d.]+\s+Tf", stream[i:])
                if m:
                    cmap = cmaps.get(names.get(m.group(1), -1))
                    i += m.end()
                    continue
            if c == b"(":
                raw, i = _literal(stream, i + 1)
                if cmap is not None:
                    out.append(
                        "".join(cmap.get(int.from_bytes(raw[k : k + 2], "big"), "?") for k in range(0, len(raw) - 1, 2))
                    )
                else:
                    out.append(raw.decode("latin-1"))
                continue
            if c == b"<" and stream[i : i + 2] != b"<<":
                end = stream.find(b">", i)
                try:
                    raw = bytes.fromhex(stream[i + 1 : end].decode("ascii"))
                except ValueError:
                    i += 1
                    continue
                if cmap is not None:
                    out.append(
                        "".join(cmap.get(int.from_bytes(raw[k : k + 2], "big"), "?") for k in range(0, len(raw) - 1, 2))
                    )
                i = end + 1
                continue
            if stream[i : i + 2] == b"ET":
                out.append("\n")
            i += 1
    return "".join(out)


# --- a small JSON-schema checker for the subset pydantic emits (no jsonschema package here) ----------------------


def validate(instance, schema, root=None, where="$"):  # type: ignore[no-untyped-def]
    """Raise AssertionError naming the path when `instance` does not fit `schema` (types, required, enums, refs)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return validate(instance, root["$defs"][name], root, where)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return validate(instance, option, root, where)
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: fits none of anyOf ({'; '.join(errors)})")
    if "const" in schema:
        assert instance == schema["const"], f"{where}: expected {schema['const']!r}"
    if "enum" in schema:
        assert instance in schema["enum"], f"{where}: {instance!r} not in {schema['enum']}"
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if kind == "integer":
        assert isinstance(instance, int) and not isinstance(instance, bool), f"{where}: expected integer"
    elif kind == "number":
        assert isinstance(instance, (int, float)) and not isinstance(instance, bool), f"{where}: expected number"
    elif kind in checks:
        assert isinstance(instance, checks[kind]), f"{where}: expected {kind}, got {type(instance).__name__}"
    if kind == "object":
        for req in schema.get("required", []):
            assert req in instance, f"{where}: missing required '{req}'"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in instance.items():
            if k in props:
                validate(v, props[k], root, f"{where}.{k}")
            elif extra is False:
                raise AssertionError(f"{where}: unexpected property '{k}'")
            elif isinstance(extra, dict):
                validate(v, extra, root, f"{where}.{k}")
    if kind == "array" and "items" in schema:
        for i, v in enumerate(instance):
            validate(v, schema["items"], root, f"{where}[{i}]")
    return None
