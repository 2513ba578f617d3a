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


@dataclass
class IntakeResult:
    source: Path
    format: ModelFormat
    onnx_path: Path
    signature: InputSignature
    exporter: str | None = None
    torch_spec: TorchModelSpec | None = None


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


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
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
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]  # common checkpoint layout
    if not isinstance(obj, dict) or not all(hasattr(v, "shape") for v in obj.values()):
        raise ModelLoadError("does not hold a state dict (name -> tensor)", path, "save model.state_dict()")
    return obj


def _import_architecture(architecture: str, base_dir: Path | None = None) -> type:
    """Import `path/to/file.py:ClassName`. This runs the user's own model code, which they named explicitly."""
    file_part, sep, class_name = architecture.rpartition(":")
    if not sep or not file_part.endswith(".py") or not class_name:
        raise ModelLoadError(
            f"architecture '{architecture}' is not of the form path/to/file.py:ClassName", fix="e.g. models/net.py:Net"
        )
    file_path = Path(file_part)
    if not file_path.is_absolute() and base_dir is not None:
        file_path = base_dir / file_path
    if not file_path.exists():
        raise ModelLoadError("architecture file not found", file_path, "check the path before ':ClassName'")
    module_name = f"shrinkwise_user_arch_{abs(hash(str(file_path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, file_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
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
        cls = _import_architecture(spec.architecture, base_dir)
        state = _load_state_dict(path)

        def build() -> torch.nn.Module:
            try:
                module = cls(**spec.arch_kwargs)
            except TypeError as exc:
                raise ModelLoadError(f"cannot build {cls.__name__} ({exc})", path, "check --arch-kwargs") from None
            try:
                module.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                first = str(exc).splitlines()[0][:200]
                raise ModelLoadError(
                    f"weights do not fit {cls.__name__} ({first})", path, "check the architecture and its arguments"
                ) from None
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


def _export_program(path: Path, out_path: Path) -> str:
    import warnings

    import torch

    _check_pt2_is_weights_only(path)
    try:
        ep = torch.export.load(str(path))
    except Exception:
        raise ModelLoadError("is not a readable torch.export archive", path, "save it with torch.export.save") from None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(ep, (), dynamo=True, external_data=False, opset_version=18)
        assert program is not None
        program.save(str(out_path), external_data=False)
    return f"torch.onnx.export(ExportedProgram, dynamo=True) torch {torch.__version__}"


def load_model(
    path: Path | str,
    work_dir: Path,
    architecture: str | None = None,
    arch_kwargs: dict[str, Any] | None = None,
    input_specs: list[TensorSpec] | None = None,
    base_dir: Path | None = None,
) -> IntakeResult:
    """Read any supported model and return an ONNX file (in `work_dir` for torch models) plus its signature.

    `input_specs` overrides the detected inputs; torch models other than `.pt2` need it, since TorchScript and
    state dicts do not record input shapes.
    """
    path = Path(path)
    fmt = detect_format(path, architecture)
    if fmt == "onnx":
        model = read_onnx(path)
        detected = onnx_signature(model)
        signature = InputSignature(inputs=input_specs, outputs=detected.outputs) if input_specs else detected
        return IntakeResult(source=path, format="onnx", onnx_path=path, signature=signature)

    spec = TorchModelSpec(format=fmt, path=path, architecture=architecture, arch_kwargs=dict(arch_kwargs or {}))
    onnx_path = work_dir / f"{path.stem}.onnx"
    if fmt == "torch_export":
        exporter = _export_program(path, onnx_path)
    else:
        if not input_specs:
            raise ModelLoadError(
                "a TorchScript model or state dict does not record its input shape",
                path,
                "pass --input-shape NAME:1,3,224,224 (the first axis is the batch)",
            )
        module = torch_model_factory(spec, base_dir)()
        try:
            exporter = export_torch_to_onnx(module, input_specs, onnx_path)
        except ModelLoadError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc.__class__.__name__
            raise ModelLoadError(
                f"export to ONNX failed ({first})", path, "check the input shape, or export to ONNX yourself"
            ) from None
    model = read_onnx(onnx_path)
    signature = onnx_signature(model)
    if input_specs:
        signature = InputSignature(inputs=input_specs, outputs=signature.outputs)
    return IntakeResult(
        source=path, format=fmt, onnx_path=onnx_path, signature=signature, exporter=exporter, torch_spec=spec
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
