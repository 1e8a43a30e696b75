"""Audio in memory and on disk: reading common formats, resampling, writing WAV, sanity checks.

Files are decoded by libsndfile through ``soundfile`` (WAV of any sample format, FLAC,
Ogg Vorbis/Opus, MP3, AIFF…) and resampled by ``soxr``; both wheels bundle their C libraries.
They are imported where they are used, not with this module: importing soundfile costs
~0.2 s (it loads libsndfile through cffi), and the pipeline imports this module on every start
for its constants and PCM helpers, which need only numpy.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from os1.voice.errors import VoiceError

SAMPLE_RATE = 16000

READABLE = "WAV, FLAC, Ogg (Vorbis or Opus) and MP3"

# What a file's first bytes say it is, to name it in errors. Kinds libsndfile cannot decode
# at all say so at once; for the others a decoding error means the file is damaged.
_MAGIC_KINDS = (
    (b"RIFF", "a WAV", True),
    (b"RF64", "an RF64 (very large) WAV", True),
    (b"fLaC", "a FLAC", True),
    (b"OggS", "an Ogg", True),
    (b"ID3", "an MP3", True),
    (b"FORM", "an AIFF", True),
    (b"\x1aE\xdf\xa3", "a WebM/Matroska", False),
)


class AudioError(VoiceError):
    """Audio could not be read or used; the message names the file, the problem and a fix."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


def _convert_hint(path: Path) -> str:
    return f"convert it with: ffmpeg -i {path} -ar {SAMPLE_RATE} -ac 1 out.wav"


def _kind(head: bytes) -> tuple[str, bool] | None:
    """(name, decodable) for the format ``head`` starts like, None if it looks like none."""
    for magic, name, decodable in _MAGIC_KINDS:
        if head.startswith(magic):
            return name, decodable
    if head[4:8] == b"ftyp":
        return "an MP4/M4A", False
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "an MP3", True  # an MPEG audio frame header without an ID3 tag
    return None


def _unreadable_message(path: Path, head: bytes, detail: str) -> str:
    kind = _kind(head)
    if kind is None:
        shown = head[:4].decode("latin-1")
        printable = "".join(ch if ch.isprintable() else "?" for ch in shown)
        return (
            f"{path} is not a WAV file, nor any other format OS1 reads ({READABLE}): it "
            f"starts with {printable!r}; {_convert_hint(path)}"
        )
    name, decodable = kind
    if not decodable:
        return f"{path} is {name} file, which OS1 cannot read ({READABLE}); {_convert_hint(path)}"
    return f"{path} is {name} file that is damaged or cut short ({detail}); {_convert_hint(path)}"


# Reading in blocks lets a file cut short mid-stream keep the blocks before the cut: a FLAC
# decoder that loses sync at the cut fails the whole read otherwise.
_BLOCK_FRAMES = 16384
# libsndfile's reason when its MP3 decoder finds no frame names the wrong cause.
_MISLEADING = {"File does not exist or is not a regular file": "no audio frames found"}


def _libsndfile_detail(exc: Exception) -> str:
    # LibsndfileError reads "Error opening '<name>': <reason>"; the name is already in ours.
    text = str(getattr(exc, "error_string", "") or exc).strip()
    detail = text.rsplit("': ", 1)[-1].removeprefix("Error : ").strip().rstrip(".")
    for misleading, meant in _MISLEADING.items():
        if detail.startswith(misleading):
            return meant
    return detail or "libsndfile failed"


def _to_mono(frames: np.ndarray) -> np.ndarray:
    values = np.nan_to_num(frames, nan=0.0, posinf=1.0, neginf=-1.0)
    mono = values.mean(axis=1) if values.shape[1] > 1 else values[:, 0]
    result: np.ndarray = np.clip(mono, -1.0, 1.0).astype(np.float32)
    return result


def _decode(source: Any, head: bytes, path: Path) -> Audio:
    import soundfile

    blocks: list[np.ndarray] = []
    try:
        with soundfile.SoundFile(source) as handle:
            rate = int(handle.samplerate)
            while len(block := handle.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)):
                blocks.append(block)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        if not blocks:
            raise AudioError(_unreadable_message(path, head, _libsndfile_detail(exc))) from None
    if not blocks:
        raise AudioError(
            f"{path} contains no audio samples (only a header, or its sound is cut off); "
            "record it again or check the program that wrote it"
        )
    return Audio(samples=_to_mono(np.concatenate(blocks)), sample_rate=rate)


def read_audio(path: Path) -> Audio:
    """Read an audio file (WAV, FLAC, Ogg Vorbis/Opus, MP3…) of any rate and channel count
    into mono float32.

    A truncated file yields what is there, as far as its format allows (a WAV or an MP3 cut
    short keeps its first part; an Ogg Opus file cut short cannot be opened at all).
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        raise AudioError(f"{path} does not exist; check the path") from None
    except IsADirectoryError:
        raise AudioError(f"{path} is a directory, not an audio file") from None
    except OSError as exc:
        raise AudioError(f"{path} cannot be read ({exc.strerror}); check its permissions") from None
    if not head:
        raise AudioError(f"{path} is empty (0 bytes); record it again or " + _convert_hint(path))
    return _decode(str(path), head, path)


def decode_audio(blob: bytes, path: Path = Path("<audio>")) -> Audio:
    """Decode audio bytes (e.g. a program's stdout) like read_audio; ``path`` only names them
    in errors."""
    if not blob:
        raise AudioError(f"{path} is empty (0 bytes); record it again or " + _convert_hint(path))
    return _decode(io.BytesIO(blob), blob[:12], path)


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Read an audio file and resample it to ``sample_rate`` mono float32."""
    audio = read_audio(path)
    if audio.sample_rate == sample_rate:
        return audio
    return Audio(resample(audio.samples, audio.sample_rate, sample_rate), sample_rate)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Band-limited resampling by soxr (its "HQ" quality: 20-bit, linear phase).

    The output has about len * dst / src samples. Downsampling low-passes below the new
    Nyquist frequency so no aliasing folds into speech bands.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    x = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    import soxr

    out: np.ndarray = soxr.resample(x, src_rate, dst_rate, quality="HQ").astype(np.float32)
    return out


class StreamResampler:
    """Resamples a stream that arrives in blocks as if it were one signal, with no seam
    between blocks. soxr holds back ~17 ms (48 to 16 kHz), so a block may give a little
    more or less than its share."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        import soxr

        self._stream: Any = soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32")

    def feed(self, samples: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        out: np.ndarray = self._stream.resample_chunk(x)
        return out.astype(np.float32, copy=False)


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to little-endian signed 16-bit PCM bytes."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return np.round(clipped * 32767.0).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit PCM bytes to float32 in [-1, 1); drops a trailing odd byte."""
    usable = len(data) - (len(data) % 2)
    return (np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0).astype(
        np.float32
    )


def write_wav(path: Path, audio: Audio) -> None:
    """Write mono 16-bit PCM WAV."""
    import soundfile

    samples = np.clip(np.asarray(audio.samples, dtype=np.float32), -1.0, 1.0)
    soundfile.write(str(path), samples, audio.sample_rate, format="WAV", subtype="PCM_16")


def describe_problems(audio: Audio) -> list[str]:
    """Plain-language warnings about audio that will likely transcribe badly."""
    problems: list[str] = []
    x = np.asarray(audio.samples, dtype=np.float32)
    if len(x) == 0:
        return ["the audio is empty (no samples)"]
    duration = audio.duration_s
    if duration < 0.3:
        problems.append(f"the audio is very short ({duration:.2f} s)")
    peak = float(np.max(np.abs(x)))
    if peak < 1e-4:
        problems.append("the audio is silent")
        return problems
    if peak < 0.02:
        db = 20.0 * math.log10(peak)
        problems.append(
            f"the audio is very quiet (peak {db:.0f} dBFS); move closer to the microphone "
            "or raise its input gain"
        )
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped >= 0.001:
        share = f"{clipped:.0%}" if clipped >= 0.01 else f"{clipped:.1%}"
        problems.append(
            f"the audio is clipped ({share} of samples at full scale); lower the microphone gain"
        )
    offset = float(np.mean(x))
    if abs(offset) > 0.1:
        problems.append(f"the audio has a large DC offset ({offset:+.2f}); check the microphone")
    return problems
