"""The host CPU's feature flags, read without torch or any native library, shared by the advisor and the engine.

Why one module at the top: the advisor reads the flags to profile "this computer", and the engine reads them to
know whether ONNX Runtime's fast int8 kernel can saturate here; neither layer may import the other.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

# x86 flags (as Linux spells them) whose int8 multiply-add sums in 32 bits: with one, int8 GEMMs do not saturate.
X86_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
X86_MACHINES = ("x86_64", "amd64", "i386", "i686", "x86")  # platform.machine(), lower-cased


def read_cpu_flags(cpuinfo_text: str | None = None) -> tuple[set[str], float | None]:
    """CPU flags and clock (GHz) from /proc/cpuinfo text; empty when unavailable."""
    if cpuinfo_text is None:
        try:
            cpuinfo_text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return set(), None
    flags: set[str] = set()
    mhz: float | None = None
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features"):
            flags.update(value.split())
        elif key == "cpu mhz" and mhz is None:
            try:
                mhz = float(value.strip())
            except ValueError:
                pass
    return flags, (mhz / 1000.0 if mhz else None)


def int8_gemm_saturates(cpuinfo_text: str | None = None, machine: str | None = None) -> bool:
    """True on an x86 CPU without VNNI/AMX, where ONNX Runtime's default int8 GEMM (U8S8, VPMADDUBSW) adds pairs of
    products in 16 bits and saturates with full-range int8 weights. Unreadable flags on x86 count as saturating:
    the exact kernel is then only slower, never wrong. This host's answer is read once (every measured candidate
    asks); arguments describe another machine, for tests."""
    if cpuinfo_text is None and machine is None:
        return _this_host_saturates()
    return _saturates(cpuinfo_text, machine)


@functools.cache
def _this_host_saturates() -> bool:
    return _saturates(None, None)


def _saturates(cpuinfo_text: str | None, machine: str | None) -> bool:
    machine = (machine or platform.machine() or "").lower()
    if machine not in X86_MACHINES:
        return False
    flags, _ = read_cpu_flags(cpuinfo_text)
    return not flags & set(X86_INT8_FLAGS)
