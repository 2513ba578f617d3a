"""Synthetic spoken-like keywords for the speech demo: made by code, nothing recorded or downloaded.

These are not words. Each "keyword" is a fixed pattern of speech-like sounds: a glottal pulse train (a harmonic
series on a moving pitch) shaped by vowel formants that glide between targets, with noise bursts standing in for
fricatives. Every clip varies the speaker (pitch, vocal-tract length, loudness, speed), the onset and the
background noise (white, pink or hum at -6 to 30 dB SNR), so a model must learn the pattern, not one waveform. Two
classes are what a wake-word detector always has: `_silence_` (background only) and `_unknown_` (speech-like
babble from other vowels). The subgroup of a clip is its noise level, the slice a real keyword spotter fails on.

Deterministic: the same (count, seed) gives the same int16 clips (numpy's PCG64 generator and plain float math).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0

# A segment is ("v", (F1, F2, F3) start, (F1, F2, F3) end, ms) for a voiced glide, ("f", low Hz, high Hz, ms) for a
# fricative noise burst, or ("-", ms) for a pause.
_A, _I, _U, _O = (730, 1090, 2440), (280, 2250, 2890), (310, 870, 2250), (570, 840, 2410)
_E, _AE, _ER = (530, 1840, 2480), (660, 1720, 2410), (490, 1350, 1690)
KEYWORDS: dict[str, tuple[tuple, ...]] = {
    "ah_ee": (("v", _A, _A, 120), ("v", _A, _I, 120), ("v", _I, _I, 140)),
    "oo_ah": (("v", _U, _U, 130), ("v", _U, _A, 110), ("v", _A, _A, 150)),
    "ee_ee": (("v", _I, _I, 150), ("-", 70), ("v", _I, _I, 170)),
    "sh_oh": (("f", 2200, 4800, 130), ("v", _O, _O, 150), ("v", _O, _U, 110)),
    "s_ee_s": (("f", 4500, 7800, 110), ("v", _I, _I, 170), ("f", 4500, 7800, 120)),
    "ah_ah": (("v", _A, _A, 130), ("-", 80), ("v", _A, _O, 160)),
}
SILENCE, UNKNOWN = "_silence_", "_unknown_"
CLASSES: tuple[str, ...] = tuple(sorted([*KEYWORDS, SILENCE, UNKNOWN]))  # sorted: a wav folder's label order
NOISE_GROUPS = (("noisy", -6.0, 4.0), ("moderate", 4.0, 14.0), ("quiet", 14.0, 30.0))  # SNR bands, dB


@dataclass
class Clips:
    """int16 clips (N x samples), class indices into CLASSES, and the noise-level subgroup of each clip."""

    waveform: np.ndarray
    y: np.ndarray
    groups: np.ndarray


def _voiced(rng: np.random.Generator, seg: tuple, n: int, f0: np.ndarray, phase0: float, tract: float) -> np.ndarray:
    _, start, end, _ = seg
    t = np.linspace(0.0, 1.0, n)
    formants = [(s + (e - s) * t) * tract * rng.uniform(0.95, 1.05) for s, e in zip(start, end, strict=True)]
    phase = phase0 + 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    out = np.zeros(n)
    for k in range(1, int(6000 / f0.max()) + 1):  # harmonics below 6 kHz, weighted by the formant envelope
        freq = k * f0
        gain = sum(np.exp(-(((freq - f) / (60 + 0.06 * f)) ** 2)) / (1 + i) for i, f in enumerate(formants))
        out += gain * np.sin(k * phase) / np.sqrt(k)
    return out


def _fricative(rng: np.random.Generator, seg: tuple, n: int) -> np.ndarray:
    _, low, high, _ = seg
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[(freqs < low * rng.uniform(0.9, 1.1)) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n) * 0.6


def _utterance(rng: np.random.Generator, segments: tuple[tuple, ...]) -> np.ndarray:
    """One speaker saying one pattern: pitch contour, vocal-tract scale and speed drawn per clip."""
    speed = rng.uniform(0.8, 1.2)
    tract = rng.uniform(0.88, 1.15)
    f0_base = rng.uniform(95, 230)
    parts: list[np.ndarray] = []
    for seg in segments:
        n = int(seg[-1] * speed * SAMPLE_RATE / 1000)
        if seg[0] == "-":
            parts.append(np.zeros(n))
        elif seg[0] == "f":
            parts.append(_fricative(rng, seg, n))
        else:
            f0 = f0_base * (1 + rng.uniform(-0.12, 0.12) * np.linspace(0, 1, n)) * (1 + 0.01 * rng.standard_normal())
            parts.append(_voiced(rng, seg, n, f0, rng.uniform(0, 2 * np.pi), tract))
        ramp = min(len(parts[-1]) // 4, 160)  # soft edges, like the onset and decay of a real syllable
        if ramp:
            parts[-1][:ramp] *= np.linspace(0, 1, ramp)
            parts[-1][-ramp:] *= np.linspace(1, 0, ramp)
    speech = np.concatenate(parts)
    return speech / (np.abs(speech).max() + 1e-9)


def _babble(rng: np.random.Generator) -> np.ndarray:
    """`_unknown_`: one to three glides between other vowels, sometimes with a broadband fricative."""
    vowels = (_E, _AE, _ER)
    segments: list[tuple] = []
    for _ in range(int(rng.integers(1, 4))):
        a, b = vowels[int(rng.integers(3))], vowels[int(rng.integers(3))]
        segments.append(("v", a, b, float(rng.uniform(90, 200))))
        if rng.random() < 0.3:
            segments.append(("f", 1000.0, 7000.0, float(rng.uniform(60, 120))))
    return _utterance(rng, tuple(segments))


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = int(rng.integers(3))
    white = rng.standard_normal(n)
    if kind == 0:
        noise = white
    elif kind == 1:  # pink: 1/f power
        spectrum = np.fft.rfft(white)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        noise = np.fft.irfft(spectrum, n)
    else:  # mains hum and its harmonics over a little white noise
        t = np.arange(n) / SAMPLE_RATE
        hum = rng.choice([50.0, 60.0])
        noise = sum(np.sin(2 * np.pi * hum * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3)) + 0.3 * white
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def make_clips(per_class: int, seed: int) -> Clips:
    """`per_class` clips of every class in CLASSES, shuffled with the seed."""
    rng = np.random.default_rng(seed)
    n = int(SAMPLE_RATE * CLIP_SECONDS)
    waves, labels, groups = [], [], []
    for label, name in enumerate(CLASSES):
        for _ in range(per_class):
            group, low, high = NOISE_GROUPS[int(rng.integers(len(NOISE_GROUPS)))]
            snr_db = rng.uniform(low, high)
            noise = _noise(rng, n)
            clip = np.zeros(n)
            if name != SILENCE:
                speech = _babble(rng) if name == UNKNOWN else _utterance(rng, KEYWORDS[name])
                speech = speech[: n - 800]
                onset = int(rng.integers(400, n - len(speech) - 400))
                clip[onset : onset + len(speech)] = speech
                speech_rms = np.sqrt(np.mean(speech**2))
                clip += noise * speech_rms / 10 ** (snr_db / 20)
                clip *= rng.uniform(0.2, 0.8) / (np.abs(clip).max() + 1e-9)
            else:  # silence: the background alone, louder in the noisier groups
                clip += noise * 0.3 * 10 ** (-snr_db / 20) * rng.uniform(0.5, 1.5)
            waves.append(np.round(clip * 32767).astype(np.int16))
            labels.append(label)
            groups.append(group)
    order = rng.permutation(len(waves))
    return Clips(
        waveform=np.stack(waves)[order],
        y=np.asarray(labels, np.int64)[order],
        groups=np.asarray(groups, dtype="U8")[order],
    )


def write_wav_folder(clips: Clips, folder: str | object) -> None:
    """The clips as 16-bit PCM mono .wav files in class sub-folders (the layout a recording campaign gives)."""
    import wave
    from pathlib import Path

    root = Path(str(folder))
    for i, (wav, label) in enumerate(zip(clips.waveform, clips.y, strict=True)):
        sub = root / CLASSES[int(label)]
        sub.mkdir(parents=True, exist_ok=True)
        with wave.open(str(sub / f"clip_{i:04d}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(wav.astype("<i2").tobytes())
