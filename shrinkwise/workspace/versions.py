"""Versions of Shrinkwise and the libraries that shape results, recorded in every artifact's lineage."""

from __future__ import annotations

from importlib import metadata

_LIBRARIES = ("torch", "onnx", "onnxruntime", "onnxconverter-common", "torch-pruning", "numpy")


def shrinkwise_version() -> str:
    try:
        return metadata.version("shrinkwise")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def library_versions() -> dict[str, str]:
    """Installed versions, read from package metadata (cheap: nothing is imported)."""
    out = {"shrinkwise": shrinkwise_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
