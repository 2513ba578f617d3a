"""Audio data intake: a folder of `.wav` clips in class sub-folders, or an `.npz` of waveforms, turned into the
features the model reads (log-mel filterbank or MFCC frames).

Why the features are computed here and not by the user: the model sees (frames x bins) matrices, but what a speech
team has is clips; computing the features in the engine keeps the evaluation and calibration data in step with the
deployed front-end instead of trusting a second hand-written copy.

Settings (sample rate, log-mel or MFCC, frame sizes, axis order) travel with the data: a `features.toml` at the top
of a wav folder, or 0-d arrays of the same names inside the `.npz` (which must hold `sample_rate` and `waveform`,
N x samples, int16 PCM or float in -1..1). Anything not set takes the usual keyword-spotting front-end (16 kHz,
25 ms windows every 10 ms), and the number of bins and frames comes from the model's input shape
(N x frames x bins or N x 1 x frames x bins). A clip shorter than the model's window is padded with silence at the
end and a longer one keeps its first frames, as Speech Commands pipelines do.

Library choices: WAV files are read with the standard library's `wave` module, which reads exactly PCM (what a
microphone front-end records) and refuses float or compressed WAV, so there is no new dependency for reading and a
clear error for the rest. Features come from kaldi-native-fbank (k2-fsa): a maintained, dependency-free C++
implementation of Kaldi's fbank/MFCC, the same front-end sherpa-onnx runs on phones and embedded boards; torchaudio
has no build for this torch, and librosa would bring numba, llvmlite and scikit-learn (~100 MB) for two functions.
"""

from __future__ import annotations

import tomllib
import wave
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwise.compression.data import Dataset, check_fits_model, check_npz_headers
from shrinkwise.compression.errors import DataError
from shrinkwise.compression.signature import InputSignature, TensorSpec

SETTINGS_FILE = "features.toml"
WAV_SUFFIX = ".wav"
WAVEFORM_KEY = "waveform"
CONVERT_FIX = "convert it to 16-bit PCM mono, e.g. 'sox in.wav -b 16 -c 1 -e signed-integer out.wav'"


class AudioFeatures(BaseModel):
    """How clips become model input; the defaults are the common keyword-spotting front-end."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: int = Field(default=16000, gt=0, description="Hz; clips at another rate are refused, not resampled")
    feature: Literal["log_mel", "mfcc"] = "log_mel"
    bins: int | None = Field(default=None, gt=0, description="mel bands (log_mel) or cepstra (mfcc); None: the model's")
    mel_bands: int | None = Field(default=None, gt=0, description="mel bands behind the MFCCs; None: max(40, bins)")
    frame_length_ms: float = Field(default=25.0, gt=0)
    frame_shift_ms: float = Field(default=10.0, gt=0)
    layout: Literal["frames_bins", "bins_frames"] = "frames_bins"

    @property
    def window_samples(self) -> int:
        return int(self.sample_rate * self.frame_length_ms / 1000)

    @property
    def shift_samples(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms / 1000)

    def clip_samples(self, frames: int) -> int:
        """Samples that give exactly `frames` frames (Kaldi's snip_edges framing)."""
        return self.window_samples + (frames - 1) * self.shift_samples


def _settings(values: dict[str, Any], source: Path) -> AudioFeatures:
    try:
        return AudioFeatures.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise DataError(
            f"audio setting '{where}': {err['msg']}",
            source,
            f"use the settings {', '.join(AudioFeatures.model_fields)} with valid values",
        ) from None


def _folder_settings(folder: Path) -> AudioFeatures:
    path = folder / SETTINGS_FILE
    if not path.exists():
        return AudioFeatures()
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"is not valid TOML ({exc})", path, "fix the syntax, e.g. sample_rate = 16000") from None
    return _settings(values, path)


# --- reading clips -----------------------------------------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A mono PCM WAV file as float32 in -1..1 and its sample rate; anything else is refused in one line."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, count = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(count)
    except wave.Error as exc:
        reason = str(exc)
        if reason.startswith("unknown format"):
            reason = f"is not a PCM WAV file ({reason}: float, compressed or extensible WAV)"
        else:
            reason = f"is not a readable WAV file ({reason})"
        raise DataError(reason, path, CONVERT_FIX) from None
    except (EOFError, OSError):
        raise DataError("is not a readable WAV file (truncated)", path, CONVERT_FIX) from None
    if channels != 1:
        raise DataError(f"has {channels} channels; the features are computed on mono clips", path, CONVERT_FIX)
    if count == 0 or not raw:
        raise DataError("has no samples", path, "remove it or record the clip again")
    usable = len(raw) // (width * channels) * width
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(raw[:usable], np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # 24-bit little-endian: widen to int32 by putting the three bytes in the top of each word
        b = np.frombuffer(raw[:usable], np.uint8).reshape(-1, 3)
        wide = np.zeros((len(b), 4), np.uint8)
        wide[:, 1:] = b
        samples = wide.view("<i4").reshape(-1).astype(np.float32) / 2.0**31
    elif width in (2, 4):
        samples = np.frombuffer(raw[:usable], f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    else:
        raise DataError(f"has {8 * width}-bit samples", path, CONVERT_FIX)
    return samples, rate


def _fit_input(spec: TensorSpec, settings: AudioFeatures, source: Path) -> tuple[int, int]:
    """(frames, bins) from the model's input shape, which must end in two fixed feature axes."""
    shape = spec.shape
    fixed = all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape[-2:]) if shape else False
    if len(shape) not in (3, 4) or not fixed or (len(shape) == 4 and shape[1] != 1):
        raise DataError(
            f"audio features need a model input of N x frames x bins or N x 1 x frames x bins, but "
            f"'{spec.name}' is {shape}",
            source,
            "declare the input shape (--input-shape) or give the features as an .npz array 'x'",
        )
    a, b = int(shape[-2]), int(shape[-1])
    frames, bins = (a, b) if settings.layout == "frames_bins" else (b, a)
    if settings.bins is not None and settings.bins != bins:
        raise DataError(
            f"the settings ask for {settings.bins} {settings.feature} bins but the model input '{spec.name}' "
            f"{shape} has {bins}",
            source,
            f"set bins = {bins}, or layout = 'bins_frames' if the model reads bins before frames",
        )
    return frames, bins


def compute_features(clips: Sequence[np.ndarray], settings: AudioFeatures, frames: int, bins: int) -> np.ndarray:
    """Float32 N x frames x bins (log-mel or MFCC) for float clips in -1..1 at `settings.sample_rate`."""
    import kaldi_native_fbank as knf

    if settings.feature == "mfcc":
        opts: Any = knf.MfccOptions()
        opts.num_ceps = bins
        opts.mel_opts.num_bins = settings.mel_bands or max(40, bins)
        make = knf.OnlineMfcc
    else:
        opts = knf.FbankOptions()
        opts.mel_opts.num_bins = bins
        make = knf.OnlineFbank
    opts.frame_opts.samp_freq = float(settings.sample_rate)
    opts.frame_opts.frame_length_ms = settings.frame_length_ms
    opts.frame_opts.frame_shift_ms = settings.frame_shift_ms
    opts.frame_opts.dither = 0.0  # Kaldi's default adds random noise: the same clip must give the same features
    need = settings.clip_samples(frames)
    out = np.empty((len(clips), frames, bins), np.float32)
    for i, clip in enumerate(clips):
        clip = np.asarray(clip, np.float32)
        if len(clip) < need:
            clip = np.concatenate([clip, np.zeros(need - len(clip), np.float32)])
        extractor = make(opts)
        extractor.accept_waveform(float(settings.sample_rate), clip[:need])
        extractor.input_finished()
        out[i] = np.stack([extractor.get_frame(t) for t in range(frames)])
    return out


def _model_input(features: np.ndarray, spec: TensorSpec, settings: AudioFeatures) -> np.ndarray:
    x = features if settings.layout == "frames_bins" else features.transpose(0, 2, 1)
    x = x[:, None] if len(spec.shape) == 4 else x
    return np.ascontiguousarray(x, dtype=spec.dtype if spec.dtype.startswith("float") else "float32")


def _single_input(signature: InputSignature, source: Path) -> TensorSpec:
    if len(signature.inputs) != 1:
        raise DataError(
            "audio clips feed one input, but the model has several", source, "use an .npz with one array per input"
        )
    return signature.inputs[0]


# --- the two layouts ---------------------------------------------------------------------------------------------


def load_wav_folder(path: Path, signature: InputSignature) -> Dataset:
    """Clips in class sub-folders (`yes/…wav`, `no/…wav`); labels follow the sorted folder names."""
    path = Path(path)
    spec = _single_input(signature, path)
    settings = _folder_settings(path)
    frames, bins = _fit_input(spec, settings, path / SETTINGS_FILE)
    loose = sorted(f.name for f in path.glob("*") if f.suffix.lower() == WAV_SUFFIX)
    if loose:
        raise DataError(
            f"has .wav files outside class sub-folders (e.g. {loose[0]})",
            path,
            "put the clips of each class in their own sub-folder (yes/, no/, …)",
        )
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    clips: list[np.ndarray] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        for f in sorted((path / cls).iterdir()):
            if f.suffix.lower() != WAV_SUFFIX or not f.is_file():
                continue
            samples, rate = read_wav(f)
            if rate != settings.sample_rate:
                raise DataError(
                    f"is {rate} Hz but the features expect {settings.sample_rate} Hz",
                    f,
                    f"resample it ('sox in.wav -r {settings.sample_rate} out.wav'), or set sample_rate = {rate} in "
                    f"{SETTINGS_FILE} if the model was trained at that rate",
                )
            clips.append(samples)
            labels.append(label)
    if not clips:
        raise DataError(
            "has no .wav clips in class sub-folders", path, "put the clips of each class in their own sub-folder"
        )
    x = _model_input(compute_features(clips, settings, frames, bins), spec, settings)
    dataset = Dataset(inputs={spec.name: x}, labels=np.asarray(labels, np.int64), source=str(path))
    check_fits_model(dataset, signature, path)
    return dataset


def load_waveform_npz(path: Path, signature: InputSignature) -> Dataset:
    """`waveform` (N x samples), `sample_rate`, optional `y`, `groups` and feature settings as 0-d arrays."""
    path = Path(path)
    check_npz_headers(path)
    spec = _single_input(signature, path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    wave_array = arrays.pop(WAVEFORM_KEY)
    labels, groups = arrays.pop("y", None), arrays.pop("groups", None)
    if "sample_rate" not in arrays:
        raise DataError(
            "has waveforms but no 'sample_rate'", path, "save it too: np.savez(path, waveform=..., sample_rate=16000)"
        )
    bad = sorted(k for k, v in arrays.items() if v.ndim != 0)
    if bad:
        raise DataError(
            f"has arrays {bad} besides the waveforms; only 0-d feature settings may sit beside them",
            path,
            f"keep waveform, sample_rate, y, groups and the settings {', '.join(AudioFeatures.model_fields)}",
        )
    settings = _settings({k: v.item() for k, v in arrays.items()}, path)
    if wave_array.ndim != 2 or wave_array.shape[1] == 0:
        raise DataError(
            f"'waveform' has shape {list(wave_array.shape)}; expected clips x samples",
            path,
            "stack mono clips of one length (pad short ones with zeros) into a 2-D array",
        )
    if np.issubdtype(wave_array.dtype, np.integer):
        if wave_array.dtype != np.int16:
            raise DataError(f"'waveform' is {wave_array.dtype}", path, "save int16 PCM or float32 in -1..1")
        clips = wave_array.astype(np.float32) / 32768.0
    elif np.issubdtype(wave_array.dtype, np.floating):
        clips = wave_array.astype(np.float32)
        if not np.isfinite(clips).all():
            raise DataError("'waveform' has NaN or Inf values", path, "clean or drop those clips")
        peak = float(np.abs(clips).max())
        if peak > 1.5:
            raise DataError(
                f"float 'waveform' reaches {peak:.3g}; float clips are read as -1..1",
                path,
                "divide int16-scaled samples by 32768, or save them as int16",
            )
    else:
        raise DataError(f"'waveform' has dtype {wave_array.dtype}, not numeric", path, "save int16 or float32")
    frames, bins = _fit_input(spec, settings, path)
    x = _model_input(compute_features(list(clips), settings, frames, bins), spec, settings)
    dataset = Dataset(inputs={spec.name: x}, labels=labels, groups=groups, source=str(path))
    check_fits_model(dataset, signature, path)
    return dataset


def is_audio(path: Path) -> bool:
    """A folder holding .wav clips (or a features.toml), or an .npz with a `waveform` array."""
    path = Path(path)
    if path.is_dir():
        if (path / SETTINGS_FILE).exists():
            return True
        return any(f.suffix.lower() == WAV_SUFFIX for f in path.glob("*")) or any(
            f.suffix.lower() == WAV_SUFFIX for f in path.glob("*/*")
        )
    if path.suffix.lower() == ".npz" and path.is_file():
        try:
            with zipfile.ZipFile(path) as archive:
                return f"{WAVEFORM_KEY}.npy" in archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False  # the .npz reader says what is wrong with it
    return False


def audio_kind(path: Path) -> Literal["audio_folder", "audio_npz"] | None:
    """How the project records audio data (None: not audio)."""
    if not is_audio(path):
        return None
    return "audio_folder" if Path(path).is_dir() else "audio_npz"


def load_audio(path: Path, signature: InputSignature) -> Dataset:
    """The `Dataset` of model inputs for a wav folder or a waveform .npz."""
    return load_wav_folder(path, signature) if Path(path).is_dir() else load_waveform_npz(path, signature)
