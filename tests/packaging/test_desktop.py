"""Desktop integration files and the bundle's launcher, checked without building the bundle."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
LAUNCHER = REPO / "packaging" / "launcher.py"
SIZES = (16, 32, 48, 64, 128, 256)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_icons_exist_at_every_size() -> None:
    ET.parse(LINUX / "icons" / "shrinkwise.svg")  # well-formed SVG
    for size in SIZES:
        assert _png_size(LINUX / "icons" / f"shrinkwise-{size}.png") == (size, size)


def test_mime_type_matches_project_files() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(LINUX / "shrinkwise-mime.xml").getroot()
    mime = root.find("m:mime-type", ns)
    assert mime is not None and mime.get("type") == "application/x-shrinkwise-project+json"
    assert [g.get("pattern") for g in mime.findall("m:glob", ns)] == ["*.shrinkwise.json"]
    desktop = (LINUX / "shrinkwise.desktop").read_text()
    assert "MimeType=application/x-shrinkwise-project+json;" in desktop
    assert "Exec=@EXEC@ gui %f" in desktop and "Icon=shrinkwise" in desktop


@pytest.mark.skipif(sys.platform != "linux", reason="XDG desktop integration is Linux-only")
def test_install_script_installs_and_uninstalls(tmp_path: Path) -> None:
    data = tmp_path / "share"
    program = tmp_path / "my apps" / "shrinkwise"  # a space, which the Exec line must quote
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    subprocess.run([LINUX / "install.sh", "--exec", program, "--data-dir", data], check=True, capture_output=True)
    entry = data / "applications" / "shrinkwise.desktop"
    text = entry.read_text()
    assert f'Exec="{program}" gui %f' in text and f"TryExec={program}\n" in text and "@EXEC@" not in text
    assert (data / "mime" / "packages" / "shrinkwise.xml").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "shrinkwise.svg").is_file()
    for size in SIZES:
        assert _png_size(data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "shrinkwise.png") == (size, size)
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", entry], check=True)
    if shutil.which("update-mime-database"):  # the database was rebuilt and knows the glob
        assert "application/x-shrinkwise-project+json:*.shrinkwise.json" in (data / "mime" / "globs2").read_text()

    subprocess.run([LINUX / "install.sh", "--uninstall", "--data-dir", data], check=True, capture_output=True)
    assert not entry.exists() and not (data / "mime" / "packages" / "shrinkwise.xml").exists()
    assert not list((data / "icons").rglob("shrinkwise*"))


def _launcher(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen", **(env or {}))
    return subprocess.run([sys.executable, LAUNCHER, *args], capture_output=True, text=True, env=full, timeout=timeout)


def test_launcher_answers_python_c_and_m_forms_like_python() -> None:
    """In the bundle, sys.executable is the launcher: the engine's `-c CODE` and `-m MODULE` children need it."""
    p = _launcher("-c", "import sys; print(sys.argv); sys.exit(3)", "a", "b")
    assert p.returncode == 3 and p.stdout.strip() == "['-c', 'a', 'b']"
    p = _launcher("-m", "shrinkwise.compression.worker")  # no job file: the worker's usage error and exit code 2
    assert p.returncode == 2 and "usage" in p.stdout


def test_launcher_is_the_cli() -> None:
    p = _launcher("--version")
    assert p.returncode == 0 and p.stdout.startswith("shrinkwise ")


@pytest.mark.slow
def test_launcher_smoke_quits_the_gui(tmp_path: Path) -> None:
    shot = tmp_path / "gui.png"
    p = _launcher(
        "gui",
        env={
            "SHRINKWISE_SMOKE_QUIT_MS": "1500",
            "SHRINKWISE_SMOKE_SCREENSHOT": str(shot),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        },
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "smoke: window 'Shrinkwise" in p.stdout and "1 window(s) shown" in p.stdout
    assert _png_size(shot)[0] > 100


def test_spec_is_valid_python() -> None:
    compile((REPO / "packaging" / "shrinkwise.spec").read_text(), "shrinkwise.spec", "exec")
