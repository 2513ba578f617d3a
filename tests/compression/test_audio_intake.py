"""Audio intake: wav folders (written here with the stdlib `wave` module) and waveform .npz become the model's
log-mel / MFCC frames; bad clips and settings are refused in one line naming the file and the fix."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from shrinkwise.compression.audio import AudioFeatures, audio_kind, compute_features, load_audio, read_wav
from shrinkwise.compression.data import load_data
from shrinkwise.compression.errors import DataError
from shrinkwise.compression.signature import InputSignature, TensorSpec

SR = 16000


def signature(shape: list, classes: int = 2) -> InputSignature:
    return InputSignature(
        inputs=[TensorSpec(name="logmel", shape=shape, dtype="float32")],
        outputs=[TensorSpec(name="scores", shape=["batch", classes], dtype="float32")],
    )


def tone(freq: float, seconds: float = 1.0, rate: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def as_read(samples: np.ndarray) -> np.ndarray:
    """What a 16-bit WAV of `samples` reads back as (the features of near-silent bands are sensitive to rounding)."""
    return (np.round(samples * 32767) / 32768).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = SR, width: int = 2, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = 2 ** (8 * width - 1) - 1
    ints = np.round(np.repeat(samples[:, None], channels, axis=1) * scale)
    if width == 1:  # 8-bit WAV is unsigned
        ints = (ints + 128).astype(np.uint8)
    elif width == 3:  # 24-bit: the low three bytes of each little-endian int32
        ints = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
    else:
        ints = ints.astype(f"<i{width}")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return path


def test_wav_folder_gives_the_engines_log_mel_frames_with_folder_labels(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    for i, f in enumerate((300.0, 320.0)):
        write_wav(folder / "high" / f"{i}.wav", tone(3000.0 + 100 * i))
        write_wav(folder / "low" / f"{i}.wav", tone(f))
    ds = load_data(folder, signature(["batch", 1, 98, 40]))
    x = ds.inputs["logmel"]
    assert x.shape == (4, 1, 98, 40) and x.dtype == np.float32
    assert ds.labels is not None and ds.labels.tolist() == [0, 0, 1, 1]  # sorted folder names: high, low
    expected = compute_features([as_read(tone(3000.0)), as_read(tone(300.0))], AudioFeatures(), 98, 40)
    np.testing.assert_allclose(x[[0, 2], 0], expected, atol=1e-5)
    # The energy sits in the mel band of the tone: a high tone's loudest band is far above a low tone's.
    assert x[0, 0].mean(axis=0).argmax() > x[2, 0].mean(axis=0).argmax() + 15
    assert audio_kind(folder) == "audio_folder"


def test_clips_are_padded_or_cut_to_the_models_frames(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_wav(folder / "a" / "short.wav", tone(500.0, 0.5))
    write_wav(folder / "a" / "long.wav", tone(500.0, 1.7))
    x = load_audio(folder, signature(["batch", 98, 40], classes=1)).inputs["logmel"]
    assert x.shape == (2, 98, 40)
    long_clip, short_clip = x  # files sorted by name: long, short
    assert np.allclose(long_clip[:40], short_clip[:40], atol=1e-3)  # the same tone where both have sound
    assert (short_clip[-5:] == short_clip.min()).all()  # padded silence: every band at the log floor
    assert short_clip[-5:].max() < long_clip[-5:].max() - 15  # far below the tone's band


def test_mfcc_and_bins_first_layout_from_features_toml(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_wav(folder / "a" / "0.wav", tone(800.0, rate=8000), rate=8000)
    (folder / "features.toml").write_text('sample_rate = 8000\nfeature = "mfcc"\nlayout = "bins_frames"\n')
    x = load_data(folder, signature(["batch", 13, 61], classes=1)).inputs["logmel"]
    settings = AudioFeatures(sample_rate=8000, feature="mfcc", layout="bins_frames")
    expected = compute_features([as_read(tone(800.0, rate=8000))], settings, 61, 13).transpose(0, 2, 1)
    assert x.shape == (1, 13, 61)
    np.testing.assert_allclose(x, expected, atol=1e-4)


def test_waveform_npz_int16_and_float_agree(tmp_path: Path) -> None:
    clips = np.stack([tone(400.0), tone(2500.0)])
    as_int16 = np.round(clips * 32767).astype(np.int16)
    sig = signature(["batch", 1, 98, 40])
    np.savez(tmp_path / "i.npz", waveform=as_int16, sample_rate=SR, y=np.array([0, 1]), groups=np.array(["a", "b"]))
    as_float = as_int16.astype(np.float32) / 32768  # the same samples, as float in -1..1
    np.savez(tmp_path / "f.npz", waveform=as_float, sample_rate=SR, y=np.array([0, 1]))
    a, b = load_data(tmp_path / "i.npz", sig), load_data(tmp_path / "f.npz", sig)
    assert a.inputs["logmel"].shape == (2, 1, 98, 40) and a.groups is not None and a.groups.tolist() == ["a", "b"]
    np.testing.assert_allclose(a.inputs["logmel"], b.inputs["logmel"], atol=1e-6)
    assert a.labels is not None and a.labels.tolist() == [0, 1]
    assert audio_kind(tmp_path / "i.npz") == "audio_npz"


def test_8_24_and_32_bit_pcm_read_as_the_same_signal(tmp_path: Path) -> None:
    signal = tone(440.0, 0.1)
    for width in (1, 3, 4):
        samples, rate = read_wav(write_wav(tmp_path / f"{width}.wav", signal, width=width))
        assert rate == SR and np.abs(samples - signal).max() < (0.01 if width == 1 else 1e-4)


def _one_line(exc: pytest.ExceptionInfo[DataError], *needles: str) -> None:
    text = str(exc.value)
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text


def test_bad_audio_is_refused_in_one_line_naming_the_file(tmp_path: Path) -> None:
    sig = signature(["batch", 1, 98, 40])
    folder = tmp_path / "rate"
    write_wav(folder / "a" / "ok.wav", tone(300.0))
    write_wav(folder / "a" / "44k.wav", tone(300.0, rate=44100), rate=44100)
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "44k.wav", "44100 Hz", "16000 Hz", "sox")

    folder = tmp_path / "float"
    bad = folder / "a" / "float.wav"
    write_wav(bad, tone(300.0))
    raw = bytearray(bad.read_bytes())
    raw[20:22] = (3).to_bytes(2, "little")  # WAVE_FORMAT_IEEE_FLOAT
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "float.wav", "not a PCM WAV", "16-bit PCM")

    folder = tmp_path / "stereo"
    write_wav(folder / "a" / "two.wav", tone(300.0), channels=2)
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "two.wav", "2 channels", "mono")

    folder = tmp_path / "junk"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "junk.wav").write_bytes(b"not a wav at all")
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "junk.wav", "not a readable WAV")

    folder = tmp_path / "empty"
    (folder / "a").mkdir(parents=True)
    (folder / "features.toml").write_text("sample_rate = 16000\n")
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "empty", "no .wav clips", "sub-folder")

    folder = tmp_path / "loose"
    write_wav(folder / "clip.wav", tone(300.0))
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "loose", "outside class sub-folders")

    folder = tmp_path / "typo"
    write_wav(folder / "a" / "ok.wav", tone(300.0))
    (folder / "features.toml").write_text("sample_rte = 16000\n")
    with pytest.raises(DataError) as exc:
        load_data(folder, sig)
    _one_line(exc, "features.toml", "sample_rte")


def test_bad_waveform_npz_and_model_shapes(tmp_path: Path) -> None:
    sig = signature(["batch", 1, 98, 40])
    cases = {
        "norate.npz": ({"waveform": np.zeros((2, SR), np.float32)}, "no 'sample_rate'"),
        "loud.npz": ({"waveform": np.full((2, SR), 2000.0, np.float32), "sample_rate": SR}, "divide"),
        "onedim.npz": ({"waveform": np.zeros(SR, np.float32), "sample_rate": SR}, "clips x samples"),
        "extra.npz": ({"waveform": np.zeros((2, SR), np.int16), "sample_rate": SR, "x": np.zeros((2, 3))}, "0-d"),
        "bins.npz": ({"waveform": np.zeros((2, SR), np.int16), "sample_rate": SR, "bins": 64}, "bins = 40"),
    }
    for name, (arrays, needle) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(DataError) as exc:
            load_data(tmp_path / name, sig)
        _one_line(exc, name, needle)
    np.savez(tmp_path / "ok.npz", waveform=np.zeros((2, SR), np.int16), sample_rate=SR)
    with pytest.raises(DataError) as exc:
        load_data(tmp_path / "ok.npz", signature(["batch", 3, 98, 40]))
    _one_line(exc, "ok.npz", "N x frames x bins", "--input-shape")
