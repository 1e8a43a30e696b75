"""Audio in memory and on disk: WAV reading and writing, resampling, sanity checks.

Only numpy and the standard library: the engines, the pipeline and the tests all lean on this
module, so it must import anywhere. WAV files are parsed by hand because the stdlib ``wave``
module rejects 32-bit float and WAVE_FORMAT_EXTENSIBLE files, which common recorders write.
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from os1.voice.errors import VoiceError

SAMPLE_RATE = 16000

_FORMAT_PCM = 0x0001
_FORMAT_IEEE_FLOAT = 0x0003
_FORMAT_EXTENSIBLE = 0xFFFE
# Streaming writers put 0 or 0xFFFFFFFF in the data size when they cannot seek back.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
# More phases than this and the filter table is quantised instead of exact (see resample).
_MAX_PHASES = 4096
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.6
_ROLLOFF = 0.95

_MAGIC_NAMES = {
    b"ID3": "an MP3 file",
    b"fLaC": "a FLAC file",
    b"OggS": "an Ogg file",
    b"RF64": "an RF64 (very large) WAV file",
    b"FORM": "an AIFF file",
    b"\x1aE\xdf\xa3": "a WebM/Matroska file",
}


class AudioError(VoiceError):
    """Audio could not be read or used; the message names the problem and a fix."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


def _convert_hint(path: Path) -> str:
    return f"convert it with: ffmpeg -i {path} -ar {SAMPLE_RATE} -ac 1 out.wav"


def _not_wav_message(path: Path, head: bytes) -> str:
    for magic, kind in _MAGIC_NAMES.items():
        if head.startswith(magic):
            return f"{path} is {kind}, not a WAV file; {_convert_hint(path)}"
    if head[4:8] == b"ftyp":
        return f"{path} is an MP4/M4A file, not a WAV file; {_convert_hint(path)}"
    shown = head[:4].decode("latin-1")
    printable = "".join(ch if ch.isprintable() else "?" for ch in shown)
    return f"{path} is not a WAV file (it starts with {printable!r}); {_convert_hint(path)}"


@dataclass(frozen=True)
class _Format:
    tag: int
    channels: int
    rate: int
    bits: int
    block_align: int


def _parse_fmt(path: Path, body: bytes) -> _Format:
    if len(body) < 16:
        raise AudioError(
            f"{path} has a damaged WAV header (fmt chunk too short); " + _convert_hint(path)
        )
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _FORMAT_EXTENSIBLE and len(body) >= 26:
        # The real format is the first two bytes of the SubFormat GUID.
        tag = struct.unpack("<H", body[24:26])[0]
    if channels == 0 or rate == 0:
        raise AudioError(f"{path} claims {channels} channels at {rate} Hz; " + _convert_hint(path))
    if block_align == 0:
        block_align = channels * ((bits + 7) // 8)
    return _Format(tag, channels, rate, bits, block_align)


def _decode(path: Path, fmt: _Format, data: bytes) -> np.ndarray:
    width = fmt.block_align // fmt.channels
    frames = len(data) // fmt.block_align
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    raw = np.frombuffer(data, dtype=np.uint8, count=frames * fmt.block_align)
    raw = raw.reshape(frames, fmt.channels, width)
    if fmt.tag == _FORMAT_PCM and width == 1:
        # 8-bit WAV is unsigned, centred on 128.
        values = (raw[..., 0].astype(np.float32) - 128.0) / 128.0
    elif fmt.tag == _FORMAT_PCM and width in (2, 3, 4):
        # Place the sample in the high bytes of an int32 so every width shares one scale.
        padded = np.zeros((frames, fmt.channels, 4), dtype=np.uint8)
        padded[..., 4 - width :] = raw
        ints = padded.view("<i4")[..., 0]
        values = ints.astype(np.float32) / 2147483648.0
    elif fmt.tag == _FORMAT_IEEE_FLOAT and width in (4, 8):
        dtype = "<f4" if width == 4 else "<f8"
        values = np.ascontiguousarray(raw).view(dtype)[..., 0].astype(np.float32)
        values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    else:
        kind = {_FORMAT_PCM: "PCM", _FORMAT_IEEE_FLOAT: "float"}.get(fmt.tag, f"0x{fmt.tag:04x}")
        raise AudioError(
            f"{path} uses an unsupported WAV encoding ({kind}, {fmt.bits}-bit); "
            + _convert_hint(path)
        )
    mono = values.mean(axis=1) if fmt.channels > 1 else values[:, 0]
    result: np.ndarray = np.clip(mono, -1.0, 1.0).astype(np.float32)
    return result


def read_wav(path: Path) -> Audio:
    """Read a WAV file of any rate, channel count and sample format into mono float32.

    A truncated file (the header promises more data than is there) yields what is present.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{path} does not exist; check the path") from None
    except IsADirectoryError:
        raise AudioError(f"{path} is a directory, not a WAV file") from None
    except OSError as exc:
        raise AudioError(f"{path} cannot be read ({exc.strerror}); check its permissions") from None
    return decode_wav(blob, path)


def decode_wav(blob: bytes, path: Path = Path("<audio>")) -> Audio:
    """Parse WAV bytes (e.g. a program's stdout) like read_wav; ``path`` only names it in errors."""
    if not blob:
        raise AudioError(f"{path} is empty (0 bytes); record it again or " + _convert_hint(path))
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise AudioError(_not_wav_message(path, blob[:12]))

    fmt: _Format | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(blob):
        chunk_id = blob[pos : pos + 4]
        size = struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        body_start = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(path, blob[body_start : body_start + size])
        elif chunk_id == b"data":
            end = len(blob) if size in _UNKNOWN_SIZES else body_start + size
            data = blob[body_start:end]  # slicing past the end keeps what a truncated file has
            break
        pos = body_start + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        raise AudioError(
            f"{path} has no format (fmt) chunk, so it is a damaged WAV file; " + _convert_hint(path)
        )
    if data is None or len(data) < fmt.block_align:
        raise AudioError(
            f"{path} contains no audio samples (empty data chunk); "
            "record it again or check the program that wrote it"
        )
    samples = _decode(path, fmt, data)
    return Audio(samples=samples, sample_rate=fmt.rate)


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Read a WAV file and resample it to ``sample_rate`` mono float32."""
    audio = read_wav(path)
    if audio.sample_rate == sample_rate:
        return audio
    return Audio(resample(audio.samples, audio.sample_rate, sample_rate), sample_rate)


def _filter_bank(phases: int, half_width: int, cutoff: float) -> np.ndarray:
    """Kaiser-windowed sinc taps, one row per fractional input offset.

    ``cutoff`` is in cycles per input sample; row p serves an output that falls p/phases of the
    way between two input samples. Rows are normalised so a constant signal stays constant.
    """
    offsets = np.arange(-half_width + 1, half_width + 1, dtype=np.float64)
    frac = np.arange(phases, dtype=np.float64)[:, None] / phases
    distance = frac - offsets[None, :]
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * distance)
    ratio = np.clip(distance / half_width, -1.0, 1.0)
    taps *= np.i0(_KAISER_BETA * np.sqrt(1.0 - ratio * ratio)) / np.i0(_KAISER_BETA)
    taps /= taps.sum(axis=1, keepdims=True)
    return taps.astype(np.float32)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Band-limited resampling with a polyphase Kaiser-windowed sinc filter.

    The output has ceil(len * dst / src) samples. Downsampling low-passes below the new Nyquist
    frequency so no aliasing folds into speech bands.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    common = math.gcd(src_rate, dst_rate)
    up, down = dst_rate // common, src_rate // common
    cutoff = 0.5 * min(1.0, dst_rate / src_rate) * _ROLLOFF
    half_width = math.ceil(_ZERO_CROSSINGS / (2.0 * cutoff))
    phases = min(up, _MAX_PHASES)
    bank = _filter_bank(phases, half_width, cutoff)
    padded = np.concatenate(
        [np.zeros(half_width, np.float32), x, np.zeros(half_width + 1, np.float32)]
    )
    n_out = -(-len(x) * up // down)
    out = np.empty(n_out, dtype=np.float32)
    taps = np.arange(-half_width + 1, half_width + 1, dtype=np.int64) + half_width
    block = max(1, 1_000_000 // len(taps))  # bounds the gathered window matrix to ~4 MB
    for start in range(0, n_out, block):
        n = np.arange(start, min(start + block, n_out), dtype=np.int64)
        numerator = n * down
        base, rem = numerator // up, numerator % up
        if up <= _MAX_PHASES:
            phase = rem
        else:
            phase = (rem * phases + up // 2) // up
            carry = phase == phases
            base, phase = base + carry, np.where(carry, 0, phase)
        windows = padded[base[:, None] + taps[None, :]]
        out[start : start + len(n)] = np.einsum("ij,ij->i", windows, bank[phase])
    return out


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
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.sample_rate)
        out.writeframes(to_pcm16(audio.samples))


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
