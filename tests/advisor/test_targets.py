"""Device targets as data, and "this computer" from the CPU flags."""

from __future__ import annotations

import pytest

from shrinkwise.advisor.errors import AdvisorError
from shrinkwise.advisor.hostcpu import detect_this_computer, read_cpu_flags
from shrinkwise.advisor.targets import all_targets, get_target, load_target_profiles

REQUIRED = {
    "desktop-avx512-vnni",
    "desktop-avx2",
    "phone-arm-dotprod",
    "raspberry-pi-4",
    "phone-npu",
    "apple-ane-like",
    "jetson-orin-gpu",
    "cortex-m-mcu",
}


def test_every_required_device_class_has_a_profile_with_sources() -> None:
    profiles = load_target_profiles()
    assert REQUIRED <= set(profiles)
    for p in profiles.values():
        assert p.sources and p.memory_mb and p.storage_mb and p.bandwidth_gbps and p.precisions
        assert p.peak_gops_int8 or p.peak_gflops_fp16 or p.peak_gflops_fp32


def test_profiles_say_what_the_issue_requires() -> None:
    p = load_target_profiles()
    assert p["desktop-avx512-vnni"].int8_accelerated and not p["desktop-avx2"].int8_accelerated
    assert p["phone-arm-dotprod"].int8_accelerated and not p["raspberry-pi-4"].int8_accelerated
    npu = p["phone-npu"]
    assert set(npu.precisions) == {"int8", "fp16"} and not npu.sparse_accelerated
    ane = p["apple-ane-like"]
    assert "fp16" in ane.precisions and "palette" in ane.precisions and ane.palettized_weights_native
    jetson = p["jetson-orin-gpu"]
    assert {"fp16", "int8"} <= set(jetson.precisions) and "2:4" in jetson.sparsity_patterns
    mcu = p["cortex-m-mcu"]
    assert mcu.precisions == ["int8"] and mcu.memory_mb < 1.0


VNNI = "processor : 0\ncpu MHz : 3000.0\nflags : fpu sse2 avx avx2 fma f16c avx512f avx512_vnni\n"
AVX2 = "processor : 0\ncpu MHz : 2500.0\nflags : fpu sse2 avx avx2 fma f16c\n"
ARM = "processor : 0\nFeatures : fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp\n"
PI4 = "processor : 0\nFeatures : fp asimd evtstrm crc32 cpuid\n"


@pytest.mark.parametrize(
    ("cpuinfo", "machine", "fast_int8"),
    [
        (VNNI, "x86_64", True),
        (AVX2, "x86_64", False),
        (ARM, "aarch64", True),
        (PI4, "aarch64", False),
        ("", "x86_64", False),
    ],
)
def test_this_computer_from_cpu_flags(cpuinfo: str, machine: str, fast_int8: bool) -> None:
    p = detect_this_computer(cpuinfo_text=cpuinfo, machine=machine, cores=4)
    assert p.id == "this-computer" and p.is_this_computer and p.kind == "cpu"
    assert p.int8_accelerated is fast_int8
    assert p.peak_gflops_fp32 and p.peak_gflops_fp32 > 0
    if not cpuinfo:
        assert any("Could not read the CPU flags" in n for n in p.notes)


def test_flags_parser_reads_x86_and_arm_spellings() -> None:
    assert "avx512_vnni" in read_cpu_flags(VNNI)[0]
    assert read_cpu_flags(VNNI)[1] == pytest.approx(3.0)
    assert "asimddp" in read_cpu_flags(ARM)[0]


def test_this_computer_is_listed_and_unknown_ids_are_explained() -> None:
    assert "this-computer" in all_targets()
    assert get_target("this-computer").is_this_computer
    with pytest.raises(AdvisorError, match=r"target_id: unknown target 'phone-npuu' \(did you mean 'phone-npu'\?\)"):
        get_target("phone-npuu")
