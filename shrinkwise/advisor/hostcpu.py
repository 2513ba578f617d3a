""" "This computer" as a target, detected from the CPU flags without torch or any native library.

Why: whether int8 can be faster than float on the machine in front of the user depends on instructions such as
AVX-512 VNNI (x86) or the dot-product extension (Arm). On Linux we read `/proc/cpuinfo`; elsewhere we fall back
to what the platform module says and mark the unknowns. Compute and bandwidth figures are rough (for labelled
estimates only); latency on this computer is measured, not estimated.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path

from shrinkwise.advisor.provenance import Provenance
from shrinkwise.advisor.targets import THIS_COMPUTER, TargetProfile
from shrinkwise.cpuflags import X86_INT8_FLAGS, X86_MACHINES, read_cpu_flags

# Flags that change the advice, as Linux spells them.
ARM_INT8_FLAGS = ("asimddp",)
RELEVANT_FLAGS = (
    *X86_INT8_FLAGS,
    "avx512f",
    "avx2",
    "fma",
    "f16c",
    "avx512_fp16",
    *ARM_INT8_FLAGS,
    "asimdhp",
    "i8mm",
    "sve",
)

_SOURCES = [
    Provenance(
        source="Linux kernel documentation: arm64 ELF hwcaps",
        url="https://docs.kernel.org/arch/arm64/elf_hwcaps.html",
        claim="On Arm, the 'asimddp' flag means the CPU has the int8 dot-product instructions that make int8 math fast.",
        confidence="vendor_doc",
    ),
    Provenance(
        source="Intel: Deep Learning Performance Boost by Intel VNNI",
        url="https://community.intel.com/t5/Blogs/Tech-Innovation/Artificial-Intelligence-AI/Deep-Learning-Performance-Boost-by-Intel-VNNI/post/1335670",
        claim="On x86, VNNI fuses the int8 multiply-add steps into one instruction; without it int8 inference gains little.",
        confidence="vendor_doc",
    ),
]


def _memory_mb(meminfo_text: str | None = None) -> float | None:
    if meminfo_text is None:
        try:
            meminfo_text = Path("/proc/meminfo").read_text(encoding="utf-8")
        except OSError:
            return None
    match = re.search(r"MemTotal:\s+(\d+)\s+kB", meminfo_text)
    return int(match.group(1)) * 1024 / 1e6 if match else None


def _storage_mb() -> float | None:
    try:
        return shutil.disk_usage(Path.home()).free / 1e6
    except OSError:
        return None


def detect_this_computer(
    cpuinfo_text: str | None = None,
    machine: str | None = None,
    cores: int | None = None,
    meminfo_text: str | None = None,
) -> TargetProfile:
    """Profile of the machine Shrinkwise runs on. Arguments exist so tests can feed other machines."""
    machine = (machine or platform.machine() or "unknown").lower()
    flags, ghz = read_cpu_flags(cpuinfo_text)
    cores = cores or os.cpu_count() or 1
    is_arm = machine in ("arm64", "aarch64") or machine.startswith("arm")
    notes: list[str] = []
    if not flags and is_arm and platform.system() == "Darwin" and cpuinfo_text is None:
        flags = {"asimddp", "asimdhp"}  # every Apple-silicon Mac has the dot-product and fp16 extensions
        notes.append("Apple silicon: dot-product support assumed (no /proc/cpuinfo on macOS).")
    elif not flags:
        notes.append("Could not read the CPU flags here; int8 speed-up is unknown, so it is not assumed.")
    int8_fast = any(f in flags for f in (*X86_INT8_FLAGS, *ARM_INT8_FLAGS))
    is_x86 = machine in X86_MACHINES
    instructions = [
        name
        for name, present in (
            ("vnni", bool(flags & {"avx512_vnni", "avx_vnni"})),
            ("amx", "amx_int8" in flags),
            ("dotprod", "asimddp" in flags),
            ("i8mm", "i8mm" in flags),
        )
        if present
    ]
    if "avx512f" in flags:
        per_cycle = 64.0
    elif "avx2" in flags and "fma" in flags:
        per_cycle = 32.0
    elif is_arm:
        per_cycle = 16.0
    else:
        per_cycle = 8.0
    fp32 = cores * (ghz or 2.5) * per_cycle
    if is_arm and "i8mm" in flags:
        isa = "int8 dot-product and i8mm"
    elif is_arm and "asimddp" in flags:
        isa = "int8 dot-product"
    elif is_arm:
        isa = "no int8 dot-product"
    elif int8_fast:
        isa = "AVX-512 VNNI" if "avx512_vnni" in flags else "VNNI"
    elif "avx2" in flags:
        isa = "AVX2 without VNNI"
    else:
        isa = "without known int8 acceleration"
    notes.append(
        f"Peak compute is a rough figure: {cores} threads x {(ghz or 2.5):.1f} GHz x {per_cycle:.0f} float ops per cycle."
    )
    return TargetProfile(
        id=THIS_COMPUTER,
        name=f"This computer ({machine}, {isa})",
        kind="cpu",
        device_class="desktop",
        is_this_computer=True,
        cpu_arch="arm" if is_arm else ("x86" if is_x86 else "other"),
        int8_instructions=instructions,  # type: ignore[arg-type]
        memory_mb=_memory_mb(meminfo_text) if cpuinfo_text is None or meminfo_text else None,
        storage_mb=_storage_mb(),
        peak_gflops_fp32=round(fp32, 1),
        peak_gflops_fp16=round(fp32, 1),
        peak_gops_int8=round(fp32 * (4.0 if int8_fast else 2.0), 1),
        bandwidth_gbps=20.0,
        precisions=["fp32", "fp16", "int8", "int4", "palette"],
        int8_accelerated=int8_fast,
        fp16_accelerated=False,
        sparse_accelerated=False,
        dynamic_quantization=True,
        palettized_weights_native=False,
        decompresses_weights_at_load=True,
        latency_overhead_ms=0.01,
        op_overhead_us=1.0,
        description="The machine Shrinkwise runs on, measured directly (latency here is measured, not estimated).",
        cpu_flags=sorted(f for f in flags if f in RELEVANT_FLAGS),
        notes=notes,
        sources=_SOURCES,
    )
