"""Model intake: read the user's model safely and get an ONNX file to measure it through.

Accepted: ONNX (`.onnx`; external data only from the model's own folder), TorchScript, `torch.export` archives
(`.pt2`) and a state dict plus an architecture named `path/to/file.py:ClassName`. Nothing is ever unpickled as
arbitrary objects: state dicts load with `weights_only=True`, and `.pt2` archives are checked the same way before
`torch.export.load` (which would otherwise fall back to a full unpickle).

Torch models are exported by `compression.onnx_export` (the legacy exporter; see there why). `.pt2` archives go
through the dynamo exporter, the only one that takes an ExportedProgram.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shrinkwise.compression.errors import ModelLoadError
from shrinkwise.compression.signature import InputSignature, TensorSpec

if TYPE_CHECKING:  # pragma: no cover
    import onnx
    import torch

ModelFormat = Literal["onnx", "torchscript", "torch_export", "state_dict"]


@dataclass
class TorchModelSpec:
    """How to rebuild the user's torch model (for export and for training-based techniques)."""

    format: ModelFormat
    path: Path
    architecture: str | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    # The architecture file's code runs only while the file has this sha256 (the one the user confirmed).
    # A project always sets it: to the confirmed hash, or to UNCONFIRMED (matches no file, so nothing runs).
    # None: a caller using this library directly, who named the file itself, vouches for it.
    trusted_sha256: str | None = None


UNCONFIRMED = "unconfirmed"
TRUST_FIX = "if you trust that file, add the model again with --trust-architecture (the window asks instead)"


class ArchitectureTrustError(ModelLoadError):
    """The architecture file would run as code but the user has not confirmed this version of it."""


def file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_architecture_trust(file_path: Path, trusted_sha256: str | None, fix: str = TRUST_FIX) -> None:
    """Refuse to run an architecture file whose sha256 is not the confirmed one (None: the caller vouches)."""
    if trusted_sha256 is None:
        return
    if trusted_sha256 == UNCONFIRMED:
        raise ArchitectureTrustError(
            "this architecture file is Python code that Shrinkwise would run, and nobody confirmed it", file_path, fix
        )
    now = file_sha256(file_path)
    if now != trusted_sha256:
        raise ArchitectureTrustError(
            f"the architecture file changed since it was confirmed (sha256 {trusted_sha256[:12]}… then, "
            f"{now[:12]}… now), so its code does not run",
            file_path,
            fix,
        )


@dataclass
class IntakeResult:
    source: Path
    format: ModelFormat
    onnx_path: Path
    signature: InputSignature
    exporter: str | None = None
    torch_spec: TorchModelSpec | None = None
    # What intake did to the model or found about it, one line each, for the user to see.
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path, architecture: str | None = None) -> ModelFormat:
    """Tell the model format from the file itself (suffix first, then the archive's contents)."""
    if not path.exists():
        raise ModelLoadError("no such file", path, "check the path")
    if path.is_dir():
        raise ModelLoadError("is a folder, not a model file", path, "give the .onnx, .pt, .pt2 or .pth file")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if architecture:
        return "state_dict"
    if suffix == ".pt2":
        return "torch_export"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        if any(
            n.endswith("serialized_exported_program.json") or "/models/" in n and n.endswith(".json") for n in names
        ):
            return "torch_export"
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            return "torchscript"
        raise ModelLoadError(
            "looks like a PyTorch state dict but no architecture was given",
            path,
            "name it with --architecture path/to/file.py:ClassName (and --arch-kwargs if it takes arguments)",
        )
    raise ModelLoadError(
        "is not a model file Shrinkwise reads",
        path,
        "use an ONNX file (.onnx), TorchScript (.pt), a torch.export archive (.pt2) or a state dict with --architecture",
    )


# --- ONNX --------------------------------------------------------------------------------------------------------


def _check_external_data(model: onnx.ModelProto, path: Path) -> None:
    """External weights may only come from the model's own folder (no absolute paths, no '..')."""
    from onnx.external_data_helper import uses_external_data

    base = path.parent.resolve()
    for tensor in model.graph.initializer:
        if not uses_external_data(tensor):
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (base / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(base):
            raise ModelLoadError(
                f"refers to external weights outside its folder ('{location}')",
                path,
                "keep the .onnx file and its weight files in one folder",
            )
        if not target.exists():
            raise ModelLoadError(
                f"its external weight file '{location}' is missing", path, "copy it next to the .onnx file"
            )


def read_onnx(path: Path) -> onnx.ModelProto:
    """Load and check an ONNX file; a truncated, corrupt or foreign file gives one clear line."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        raise ModelLoadError(
            "is not a readable ONNX model (truncated, corrupt or another kind of file)",
            path,
            "re-export the model to ONNX",
        ) from None
    if not model.graph.node:
        raise ModelLoadError("is not a readable ONNX model (it has no graph)", path, "re-export the model to ONNX")
    _check_external_data(model, path)
    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:  # onnx raises several types here
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else exc.__class__.__name__
        raise ModelLoadError(
            f"fails ONNX validation ({first})", path, "re-export the model with a recent exporter"
        ) from None
    return model


_FLOAT_TYPES = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
# Layers whose inputs other than the data are weights: a scalar Constant feeding one is still a weight.
_WEIGHT_LAYERS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "Gather", "LSTM", "GRU", "RNN"})


def _weight_constants(model: onnx.ModelProto) -> set[str]:
    """Outputs of the main graph's floating-point `Constant` nodes that hold weights.

    A weight is a tensor of more than one element, or any tensor a weight layer reads. Scalars such as a
    LayerNorm epsilon or an attention scale (a transformer export has dozens) are not: moving them changes no
    parameter count worth showing and nothing a quantizer looks at, but rewriting the file for them cost a
    0.1 GB transformer most of a second at intake. Reads only the nodes, so it is cheap on any model.
    """
    outputs = {o.name for o in model.graph.output}
    layer_inputs = {i for n in model.graph.node if n.op_type in _WEIGHT_LAYERS for i in n.input}
    found = set()
    for node in model.graph.node:
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx") or len(node.attribute) != 1:
            continue
        attr = node.attribute[0]
        if attr.name != "value" or attr.t.data_type not in _FLOAT_TYPES or node.output[0] in outputs:
            continue
        elements = 1
        for d in attr.t.dims:
            elements *= d
        if elements > 1 or node.output[0] in layer_inputs:
            found.add(node.output[0])
    return found


def fold_constant_weights(model: onnx.ModelProto) -> int:
    """Move floating-point `Constant` weights of the main graph into initializers; returns how many moved.

    Why: Paddle2ONNX (and some tf2onnx graphs) store weights as Constant nodes feeding Conv/MatMul/Gemm. Initializers
    are where the profile counts parameters and where ORT's quantizers look for weights, so without this the model
    shows 0 parameters and every int8 technique finds nothing to quantize. Integer Constants (shapes, axes) and
    float scalars outside weight layers (`_weight_constants`) stay.
    """
    weights = _weight_constants(model)
    if not weights:
        return 0
    keep = []
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] in weights:
            tensor = model.graph.initializer.add()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return len(weights)


def _fold_onnx(path: Path, model: onnx.ModelProto, work_dir: Path) -> tuple[Path, list[str]]:
    """Write a copy with Constant weights folded into `work_dir` when there are any; else keep the user's file.

    `model` is the graph as read without external data; the check runs on it, so the common case (no Constant
    weights) neither reloads nor rewrites the file."""
    import onnx

    if not _weight_constants(model):
        return path, []
    full = onnx.load(str(path))  # with its external data, if any (checked to come from its own folder)
    moved = fold_constant_weights(full)
    if not moved:
        return path, []
    from shrinkwise.compression.onnx_utils import save

    out = work_dir / f"{path.stem}_folded.onnx"
    save(full, out)
    read_onnx(out)
    return out, [f"{moved} Constant weight(s) moved to initializers, so they are counted and can be quantized"]


def onnx_signature(model: onnx.ModelProto) -> InputSignature:
    from onnx import helper

    init_names = {i.name for i in model.graph.initializer}

    def spec(value_info: Any) -> TensorSpec:
        ttype = value_info.type.tensor_type
        dims: list[int | str] = []
        for i, d in enumerate(ttype.shape.dim):
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            else:
                dims.append(d.dim_param or f"dim{i}")
        try:
            dtype = helper.tensor_dtype_to_np_dtype(ttype.elem_type).name
        except Exception:
            dtype = "float32"
        return TensorSpec(name=value_info.name, shape=dims, dtype=dtype)

    inputs = [spec(v) for v in model.graph.input if v.name not in init_names]
    outputs = [spec(v) for v in model.graph.output]
    return InputSignature(inputs=inputs, outputs=outputs)


# --- torch -------------------------------------------------------------------------------------------------------


# Where training scripts put the weights inside a checkpoint dict, most specific first.
STATE_DICT_KEYS = ("model_state_dict", "model_state", "state_dict", "model", "net", "network", "weights", "module")


def _is_state_dict(obj: object) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(hasattr(v, "shape") for v in obj.values())


def _load_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """The state dict in `path` and the checkpoint key it was found under (None when the file is the state dict)."""
    import pickle

    import torch

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelLoadError(
            "contains pickled Python objects that could run code when loaded, so Shrinkwise will not open it",
            path,
            "save the weights with torch.save(model.state_dict(), ...) and name the architecture",
        ) from None
    except Exception:
        raise ModelLoadError(
            "is not a readable PyTorch file (truncated or another kind of file)", path, "save it again with torch.save"
        ) from None
    if _is_state_dict(obj):
        return obj, None
    if isinstance(obj, dict):
        for key in STATE_DICT_KEYS:
            if _is_state_dict(obj.get(key)):
                return obj[key], key
        found = [k for k, v in obj.items() if _is_state_dict(v)]
        if len(found) == 1:
            return obj[found[0]], found[0]
        keys = ", ".join(repr(k) for k in list(obj)[:8])
        raise ModelLoadError(
            f"is a checkpoint dict with keys {keys} but no single state dict (name -> tensor) in it",
            path,
            "save model.state_dict() on its own, or keep it under 'state_dict' or 'model_state'",
        )
    raise ModelLoadError("does not hold a state dict (name -> tensor)", path, "save model.state_dict()")


def _strip_prefix(state: dict[str, Any], wanted: set[str]) -> tuple[dict[str, Any], str | None]:
    """DataParallel / torch.compile checkpoints prefix every key ('module.', '_orig_mod.'); drop it when that fits."""
    for prefix in ("module.", "_orig_mod.", "model."):
        if state and all(k.startswith(prefix) for k in state) and not any(k.startswith(prefix) for k in wanted):
            return {k[len(prefix) :]: v for k, v in state.items()}, prefix
    return state, None


def load_weights(module: torch.nn.Module, state: dict[str, Any], path: Path) -> list[str]:
    """Load `state` into `module` non-strictly; returns one note per kind of key that did not match.

    Why non-strict: real checkpoints carry extra entries (EMA copies, loss weights) or lack buffers the class makes
    itself. Shapes must still fit, and a file that matches nothing is refused: that is a wrong architecture.
    """
    own = module.state_dict()
    state, prefix = _strip_prefix(state, set(own))
    matched = [k for k in state if k in own]
    name = type(module).__name__
    if not matched:
        raise ModelLoadError(
            f"none of its {len(state)} weight name(s) fit {name} (e.g. '{next(iter(state), '')}' vs "
            f"'{next(iter(own), '')}')",
            path,
            "check --architecture and --arch-kwargs",
        )
    wrong = [k for k in matched if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        k = wrong[0]
        raise ModelLoadError(
            f"weights do not fit {name}: '{k}' is {tuple(state[k].shape)} in the file but {tuple(own[k].shape)} in "
            f"the model ({len(wrong)} such)",
            path,
            "check the architecture and its arguments (--arch-kwargs)",
        )
    result = module.load_state_dict(state, strict=False)
    notes = [f"state dict keys had the prefix '{prefix}', removed"] if prefix else []
    if result.unexpected_keys:
        notes.append(
            _keys_note(f"{len(result.unexpected_keys)} key(s) in the file not used by {name}", result.unexpected_keys)
        )
    if result.missing_keys:
        notes.append(
            _keys_note(
                f"{len(result.missing_keys)} weight(s) of {name} not in the file (left at their initial values)",
                result.missing_keys,
            )
        )
    return notes


def _keys_note(head: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:6])
    return f"{head}: {shown}{' …' if len(keys) > 6 else ''}"


def resolve_architecture_file(file_part: str, base_dir: Path | None = None) -> Path:
    """An architecture path: absolute, relative to `base_dir` (the project folder) where the file is there, else
    relative to the current folder, as --model is.

    The project folder comes first because paths saved in a project (and the demo's) are relative to it; the same
    order as `workspace.session` uses when it stores the path.
    """
    path = Path(file_part).expanduser()
    if path.is_absolute():
        return path
    candidates = ([base_dir / path] if base_dir is not None else []) + [Path.cwd() / path]
    return next((c for c in candidates if c.exists()), candidates[-1]).resolve()


def _package_root(file_path: Path) -> Path | None:
    """The top folder of the package `file_path` lives in (folders with __init__.py), or None outside a package."""
    root = None
    folder = file_path.parent
    while (folder / "__init__.py").exists():
        root = folder
        if folder.parent == folder:
            break
        folder = folder.parent
    return root


def _exec_architecture(file_path: Path) -> Any:
    """Import the user's file; inside a package under a private alias of that package, so relative imports work."""
    # The alias includes the file's content hash: a package imported once stays in sys.modules, so an edited (and
    # confirmed again) file must get a fresh alias, or the old code would run under the new confirmation.
    tag = f"shrinkwise_user_arch_{abs(hash(str(file_path)))}_{file_sha256(file_path)[:12]}"
    root = _package_root(file_path)
    extra_paths = [str(file_path.parent)] + ([str(root.parent)] if root is not None else [])
    sys.path[:0] = extra_paths  # plain `import sibling` and `import pkg.x` inside the file, while it loads
    try:
        if root is None:
            spec = importlib.util.spec_from_file_location(tag, file_path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[tag] = module
            spec.loader.exec_module(module)
            return module
        if tag not in sys.modules:
            pkg_spec = importlib.util.spec_from_file_location(
                tag, root / "__init__.py", submodule_search_locations=[str(root)]
            )
            assert pkg_spec and pkg_spec.loader
            package = importlib.util.module_from_spec(pkg_spec)
            sys.modules[tag] = package
            pkg_spec.loader.exec_module(package)
        parts = file_path.relative_to(root).with_suffix("").parts
        dotted = ".".join((tag, *parts)) if parts != ("__init__",) else tag
        return importlib.import_module(dotted)
    finally:
        for p in extra_paths:
            if p in sys.path:
                sys.path.remove(p)


def _import_architecture(architecture: str, base_dir: Path | None = None, trusted_sha256: str | None = None) -> type:
    """Import `path/to/file.py:ClassName`. This runs the user's own model code: only the version they confirmed
    (`trusted_sha256`, checked here, right before it runs)."""
    file_part, sep, class_name = architecture.rpartition(":")
    if not sep or not file_part.endswith(".py") or not class_name:
        raise ModelLoadError(
            f"architecture '{architecture}' is not of the form path/to/file.py:ClassName", fix="e.g. models/net.py:Net"
        )
    file_path = resolve_architecture_file(file_part, base_dir)
    if not file_path.exists():
        raise ModelLoadError(
            "architecture file not found", file_path, "check the path before ':ClassName' (relative to this folder)"
        )
    check_architecture_trust(file_path, trusted_sha256)
    try:
        module = _exec_architecture(file_path)
    except Exception as exc:
        raise ModelLoadError(
            f"importing it failed ({exc.__class__.__name__}: {exc})", file_path, "fix the model file"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ModelLoadError(f"has no class '{class_name}'", file_path, "check the name after ':'")
    return cls


def _check_pt2_is_weights_only(path: Path) -> None:
    """torch.export.load falls back to a full unpickle if weights_only fails: refuse such archives first."""
    import pickle

    import torch

    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.endswith((".pt",)) and "serialized_" in name:
                    data = zf.read(name)
                    if data:
                        torch.load(io.BytesIO(data), weights_only=True)
    except pickle.UnpicklingError:
        raise ModelLoadError(
            "contains pickled Python objects that could run code when loaded, so Shrinkwise will not open it",
            path,
            "export it again with plain tensors (torch.export.save of a model without custom objects)",
        ) from None
    except zipfile.BadZipFile:
        raise ModelLoadError(
            "is not a readable torch.export archive (truncated or corrupt)",
            path,
            "save it again with torch.export.save",
        ) from None


def torch_model_factory(spec: TorchModelSpec, base_dir: Path | None = None) -> Callable[[], torch.nn.Module]:
    """A function returning a fresh module with the user's weights, in eval mode."""
    import torch

    path = spec.path
    if spec.format == "state_dict":
        if not spec.architecture:
            raise ModelLoadError(
                "a state dict needs its architecture", path, "pass --architecture path/to/file.py:ClassName"
            )
        cls = _import_architecture(spec.architecture, base_dir, spec.trusted_sha256)
        state, key = _load_state_dict(path)
        notes: list[str] = [f"the state dict was taken from the checkpoint's '{key}' entry"] if key else []

        def build() -> torch.nn.Module:
            try:
                module = cls(**spec.arch_kwargs)
            except TypeError as exc:
                raise ModelLoadError(f"cannot build {cls.__name__} ({exc})", path, "check --arch-kwargs") from None
            load_notes = load_weights(module, state, path)
            if not getattr(build, "notes", None):
                build.notes = notes + load_notes  # type: ignore[attr-defined]
            return module.eval()

        return build
    if spec.format == "torchscript":

        def build_ts() -> torch.nn.Module:
            try:
                return torch.jit.load(str(path), map_location="cpu").eval()
            except Exception:
                raise ModelLoadError(
                    "is not a readable TorchScript file", path, "save it with torch.jit.save"
                ) from None

        return build_ts
    if spec.format == "torch_export":
        _check_pt2_is_weights_only(path)

        def build_ep() -> torch.nn.Module:
            try:
                return torch.export.load(str(path)).module()
            except ModelLoadError:
                raise
            except Exception:
                raise ModelLoadError(
                    "is not a readable torch.export archive", path, "save it with torch.export.save"
                ) from None

        return build_ep
    raise ModelLoadError(f"format '{spec.format}' is not a torch format", path)


def _example_inputs(signature_inputs: list[TensorSpec]) -> tuple[torch.Tensor, ...]:
    import numpy as np
    import torch

    tensors = []
    for spec in signature_inputs:
        shape = spec.concrete_shape(batch=1)
        tensors.append(torch.zeros(shape, dtype=getattr(torch, np.dtype(spec.dtype).name)))
    return tuple(tensors)


def export_torch_to_onnx(
    module: torch.nn.Module,
    inputs: list[TensorSpec],
    out_path: Path,
    output_names: list[str] | None = None,
) -> str:
    """Export with zero example inputs of the signature's shapes; returns the exporter's name for the record."""
    from shrinkwise.compression.onnx_export import export_module

    return export_module(
        module, _example_inputs(inputs), out_path, [s.name for s in inputs], output_names or ["output"]
    )


SCALAR_FIX = (
    "wrap the model in a module whose forward takes only tensors (fix the value inside the wrapper) and save that, "
    "or export it to ONNX yourself"
)


def _scalar_arguments_torchscript(module: Any) -> list[str]:
    """Names of forward's non-tensor arguments (int, float, bool, str) of a TorchScript module."""
    try:
        arguments = module.forward.schema.arguments[1:]  # [0] is self
    except Exception:  # noqa: BLE001 - a traced module without a schema: nothing to tell
        return []
    return [f"{a.name}: {a.type}" for a in arguments if "Tensor" not in str(a.type)]


def _scalar_arguments_program(ep: Any) -> list[str]:
    """Inputs of an ExportedProgram that were Python values (ints, floats) when it was exported: baked in."""
    names = []
    for spec in ep.graph_signature.input_specs:
        arg = spec.arg
        if str(spec.kind).endswith("USER_INPUT") and type(arg).__name__ == "ConstantArgument":
            names.append(f"{arg.name}={arg.value!r}")
    return names


def _export_program(path: Path, out_path: Path) -> tuple[str, list[str]]:
    import warnings

    import torch

    _check_pt2_is_weights_only(path)
    try:
        ep = torch.export.load(str(path))
    except Exception:
        raise ModelLoadError("is not a readable torch.export archive", path, "save it with torch.export.save") from None
    scalars = _scalar_arguments_program(ep)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(ep, (), dynamo=True, external_data=False, opset_version=18)
            assert program is not None
            program.save(str(out_path), external_data=False)
        except Exception as exc:
            if scalars:
                raise ModelLoadError(
                    f"its forward takes Python value(s) ({', '.join(scalars)}), which ONNX export cannot turn into "
                    "model inputs",
                    path,
                    SCALAR_FIX,
                ) from None
            raise ModelLoadError(
                f"export to ONNX failed ({_first_line(exc)})", path, "export it to ONNX yourself"
            ) from None
    notes = (
        [
            f"forward's Python argument(s) {', '.join(scalars)} were fixed when the archive was made; the ONNX model "
            "always uses those values"
        ]
        if scalars
        else []
    )
    return f"torch.onnx.export(ExportedProgram, dynamo=True) torch {torch.__version__}", notes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


def _check_loads(onnx_path: Path, source: Path) -> None:
    """Open the ONNX file in ONNX Runtime now, so a graph it cannot load fails at intake in one line."""
    from shrinkwise.compression.errors import runtime_errors
    from shrinkwise.compression.measure.runtime import make_session

    with runtime_errors(source, "load the model"):
        make_session(onnx_path)


def load_model(
    path: Path | str,
    work_dir: Path,
    architecture: str | None = None,
    arch_kwargs: dict[str, Any] | None = None,
    input_specs: list[TensorSpec] | None = None,
    base_dir: Path | None = None,
    trusted_sha256: str | None = None,
) -> IntakeResult:
    """Read any supported model and return an ONNX file (in `work_dir` for torch models) plus its signature.

    `input_specs` overrides the detected inputs; torch models other than `.pt2` need it, since TorchScript and
    state dicts do not record input shapes. `trusted_sha256`: see `TorchModelSpec.trusted_sha256`.
    """
    path = Path(path)
    fmt = detect_format(path, architecture)
    if fmt == "onnx":
        model = read_onnx(path)
        detected = onnx_signature(model)
        signature = InputSignature(inputs=input_specs, outputs=detected.outputs) if input_specs else detected
        onnx_path, notes = _fold_onnx(path, model, work_dir)
        _check_loads(onnx_path, path)
        return IntakeResult(source=path, format="onnx", onnx_path=onnx_path, signature=signature, notes=notes)

    spec = TorchModelSpec(
        format=fmt,
        path=path,
        architecture=architecture,
        arch_kwargs=dict(arch_kwargs or {}),
        trusted_sha256=trusted_sha256,
    )
    onnx_path = work_dir / f"{path.stem}.onnx"
    notes: list[str] = []
    if fmt == "torch_export":
        exporter, notes = _export_program(path, onnx_path)
    else:
        if not input_specs:
            raise ModelLoadError(
                "a TorchScript model or state dict does not record its input shape",
                path,
                "pass --input-shape NAME:1,3,224,224 (the first axis is the batch)",
            )
        build = torch_model_factory(spec, base_dir)
        module = build()
        notes = list(getattr(build, "notes", []))
        scalars = _scalar_arguments_torchscript(module) if fmt == "torchscript" else []
        if scalars:
            raise ModelLoadError(
                f"its forward takes Python value(s) ({', '.join(scalars)}), which ONNX export cannot feed",
                path,
                SCALAR_FIX,
            )
        try:
            exporter = export_torch_to_onnx(module, input_specs, onnx_path)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"export to ONNX failed ({_first_line(exc)})", path, "check the input shape, or export to ONNX yourself"
            ) from None
    model = read_onnx(onnx_path)
    signature = onnx_signature(model)
    if input_specs:
        signature = InputSignature(inputs=input_specs, outputs=signature.outputs)
    folded, fold_notes = _fold_onnx(onnx_path, model, work_dir)
    _check_loads(folded, path)
    return IntakeResult(
        source=path,
        format=fmt,
        onnx_path=folded,
        signature=signature,
        exporter=exporter,
        torch_spec=spec,
        notes=notes + fold_notes,
    )


def parse_input_shape(text: str, dtype: str = "float32") -> TensorSpec:
    """`x:1,1,8,8` or `input_ids:1,seq:int64` -> TensorSpec (names stand for dynamic axes)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ModelLoadError(
            f"input shape '{text}' is not NAME:D1,D2,...[:DTYPE]", fix="e.g. x:1,3,224,224 or input_ids:1,seq:int64"
        )
    dims: list[int | str] = []
    for d in parts[1].split(","):
        d = d.strip()
        dims.append(int(d) if d.lstrip("-").isdigit() else d)
    return TensorSpec(name=parts[0], shape=dims, dtype=parts[2] if len(parts) == 3 else dtype)
