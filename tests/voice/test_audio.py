"""Audio files in every format OS1 reads, written by soundfile itself and read back; resampling;
PCM helpers; and the clear errors for files that are empty, damaged, cut short or not audio."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from os1.voice.audio import (
    SAMPLE_RATE,
    Audio,
    AudioError,
    decode_audio,
    describe_problems,
    from_pcm16,
    load_audio,
    read_audio,
    resample,
    to_pcm16,
    write_wav,
)

# (file suffix, soundfile format, subtype, rate): the formats people hand OS1. Opus only
# runs at 8/12/16/24/48 kHz, so it is written at 48 kHz, as phones record voice memos.
FORMATS = [
    ("wav", "WAV", "PCM_16", 44100),
    ("flac", "FLAC", "PCM_16", 44100),
    ("ogg", "OGG", "VORBIS", 44100),
    ("opus", "OGG", "OPUS", 48000),
    ("mp3", "MP3", "MPEG_LAYER_III", 44100),
]


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def riff(
    fmt_tag: int, channels: int, rate: int, bits: int, data: bytes, extensible: bool = False
) -> bytes:
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", fmt_tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_stereo(path: Path, fmt: str, subtype: str, rate: int, seconds: float = 1.5) -> None:
    left, right = sine(440, rate, seconds, 0.4), sine(440, rate, seconds, 0.2)
    soundfile.write(str(path), np.stack([left, right], axis=1), rate, format=fmt, subtype=subtype)


# --- Every common format --------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "fmt", "subtype", "rate"), FORMATS)
def test_each_format_is_read_downmixed_and_resampled(
    tmp_path: Path, suffix: str, fmt: str, subtype: str, rate: int
) -> None:
    path = tmp_path / f"memo.{suffix}"
    write_stereo(path, fmt, subtype, rate)
    raw = read_audio(path)
    assert raw.sample_rate == rate
    audio = load_audio(path)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    # Lossy codecs pad a few milliseconds (encoder delay, last frame) onto the end.
    assert audio.duration_s == pytest.approx(1.5, abs=0.06)
    # The mean of both channels is a 0.3 sine (RMS 0.21); lossy codecs shape its peaks.
    middle = audio.samples[2000:-2000]
    assert float(np.sqrt(np.mean(middle**2))) == pytest.approx(0.3 / np.sqrt(2), abs=0.02)
    assert peak_hz(audio.samples, SAMPLE_RATE) == pytest.approx(440, abs=3)


def test_format_is_found_from_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "recording.wav"  # a FLAC file with the wrong extension
    soundfile.write(str(path), sine(300, 16000, 0.5), 16000, format="FLAC")
    audio = read_audio(path)
    assert audio.sample_rate == 16000 and len(audio.samples) == 8000


def test_decode_audio_reads_bytes_from_a_program() -> None:
    # A streaming writer's header: both sizes unknown (0xFFFFFFFF), as espeak-ng writes them.
    data = to_pcm16(sine(300, 22050, 0.5))
    blob = bytearray(riff(1, 1, 22050, 16, data))
    blob[4:8] = blob[40:44] = b"\xff\xff\xff\xff"
    audio = decode_audio(bytes(blob), Path("espeak-ng output"))
    assert audio.sample_rate == 22050 and len(audio.samples) == 11025
    with pytest.raises(AudioError, match="espeak-ng output is empty"):
        decode_audio(b"", Path("espeak-ng output"))


def test_write_wav_round_trip(tmp_path: Path) -> None:
    tone = sine(300, 16000, 0.25)
    path = tmp_path / "out.wav"
    write_wav(path, Audio(np.concatenate([tone, [1.5, -2.0]]).astype(np.float32), 16000))
    with wave.open(str(path), "rb") as written:  # a plain 16-bit mono WAV any program reads
        assert (written.getnchannels(), written.getsampwidth()) == (1, 2)
        assert written.getframerate() == 16000
    audio = read_audio(path)
    np.testing.assert_allclose(audio.samples[: len(tone)], tone, atol=1e-4)
    assert audio.samples[-2] == pytest.approx(1.0, abs=1e-4)  # clipped, not wrapped around
    assert audio.samples[-1] == pytest.approx(-1.0, abs=1e-4)


# --- WAV sample formats -----------------------------------------------------------------------


def test_24_bit_8_bit_and_float_wavs(tmp_path: Path) -> None:
    values = np.array([0.0, 0.5, -0.5, 0.25, -1.0], dtype=np.float64)
    ints = np.round(values * (2**23 - 1)).astype(np.int64)
    packed = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    (tmp_path / "24.wav").write_bytes(riff(1, 1, 16000, 24, packed))
    np.testing.assert_allclose(read_audio(tmp_path / "24.wav").samples, values, atol=1e-6)

    unsigned = np.round(values * 127 + 128).clip(0, 255).astype(np.uint8).tobytes()
    (tmp_path / "8.wav").write_bytes(riff(1, 1, 8000, 8, unsigned))
    np.testing.assert_allclose(read_audio(tmp_path / "8.wav").samples, values, atol=0.01)

    floats = values.astype("<f4").tobytes()
    for extensible in (False, True):
        path = tmp_path / f"float-{extensible}.wav"
        path.write_bytes(riff(3, 1, 22050, 32, floats, extensible=extensible))
        audio = read_audio(path)
        assert audio.sample_rate == 22050
        np.testing.assert_allclose(audio.samples, values, atol=1e-7)


# --- Damaged, cut short, empty, not audio ---------------------------------------------------


def test_truncated_wav_keeps_what_is_there(tmp_path: Path) -> None:
    tone = sine(300, 16000, 0.5)
    path = tmp_path / "full.wav"
    write_wav(path, Audio(tone, 16000))
    blob = path.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(blob[: 44 + 2 * 3000 + 1])  # the header still promises 8000 samples
    audio = read_audio(cut)
    assert len(audio.samples) == 3000
    np.testing.assert_allclose(audio.samples, tone[:3000], atol=1e-4)

    header_only = tmp_path / "header.wav"
    header_only.write_bytes(blob[:44])
    with pytest.raises(AudioError, match=r"header\.wav contains no audio samples"):
        read_audio(header_only)


def test_flac_cut_short_keeps_the_blocks_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "memo.flac"
    soundfile.write(str(path), sine(440, 44100, 2.0), 44100, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    audio = read_audio(cut)
    assert 0.3 < audio.duration_s < 1.1
    assert peak_hz(audio.samples, 44100) == pytest.approx(440, abs=3)


@pytest.mark.parametrize(("suffix", "fmt", "subtype", "rate"), FORMATS)
def test_files_cut_to_their_first_bytes_give_clear_errors(
    tmp_path: Path, suffix: str, fmt: str, subtype: str, rate: int
) -> None:
    path = tmp_path / f"memo.{suffix}"
    write_stereo(path, fmt, subtype, rate)
    stub = tmp_path / f"stub.{suffix}"
    stub.write_bytes(path.read_bytes()[:40])
    with pytest.raises(AudioError) as caught:
        read_audio(stub)
    message = str(caught.value)
    assert message.startswith(str(stub))
    assert "damaged or cut short" in message or "no audio samples" in message


def test_opus_cut_short_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "memo.opus"
    write_stereo(path, "OGG", "OPUS", 48000, seconds=2.0)
    cut = tmp_path / "cut.opus"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AudioError, match=r"cut\.opus is an Ogg file that is damaged or cut short"):
        read_audio(cut)


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    mp3 = tmp_path / "in.wav"
    mp3.write_bytes(b"ID3\x04\x00\x00\x00" + bytes(200))
    with pytest.raises(AudioError, match=r"MP3.*ffmpeg -i .*in\.wav -ar 16000 -ac 1"):
        read_audio(mp3)
    text = tmp_path / "notes.wav"
    text.write_text("hello, this is not audio")
    with pytest.raises(AudioError, match=r"notes\.wav is not a WAV file.*starts with 'hell'"):
        read_audio(text)
    m4a = tmp_path / "memo.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(100))
    with pytest.raises(AudioError, match=r"memo\.m4a is an MP4/M4A file, which OS1 cannot read"):
        read_audio(m4a)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav is empty"):
        read_audio(empty)
    with pytest.raises(AudioError, match="does not exist"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioError, match="is a directory"):
        read_audio(tmp_path)


def test_describe_problems() -> None:
    assert "the audio is silent" in describe_problems(Audio(np.zeros(16000, np.float32), 16000))
    clipped = np.clip(sine(200, 16000, 1.0, 3.0), -1, 1)
    assert any("clipped" in p for p in describe_problems(Audio(clipped, 16000)))
    short = sine(200, 16000, 0.05)
    assert "the audio is very short (0.05 s)" in describe_problems(Audio(short, 16000))
    assert describe_problems(Audio(sine(200, 16000, 1.0), 16000)) == []


# --- Resampling and PCM -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst"), [(44100, 16000), (16000, 22050), (48000, 16000), (22050, 24000)]
)
def test_resample_keeps_frequency(src: int, dst: int) -> None:
    out = resample(sine(440, src, 1.0), src, dst)
    assert out.dtype == np.float32
    assert len(out) == pytest.approx(dst, abs=1)
    assert peak_hz(out, dst) == pytest.approx(440, abs=2)
    assert np.max(np.abs(out[500:-500])) == pytest.approx(0.5, abs=0.01)


def test_resample_removes_tones_above_new_nyquist() -> None:
    out = resample(sine(10000, 44100, 1.0), 44100, 16000)
    assert np.max(np.abs(out[500:-500])) < 0.01


def test_resample_edge_cases() -> None:
    same = sine(300, 16000, 0.1)
    assert np.array_equal(resample(same, 16000, 16000), same)
    assert len(resample(np.zeros(0, np.float32), 48000, 16000)) == 0
    assert len(resample(np.zeros(960, np.float32), 48000, 16000)) == 320  # a 20 ms block
    with pytest.raises(ValueError, match="positive"):
        resample(same, 0, 16000)


def test_pcm16_round_trip() -> None:
    tone = sine(300, 16000, 0.1)
    np.testing.assert_allclose(from_pcm16(to_pcm16(tone)), tone, atol=1e-4)
    assert len(from_pcm16(b"\x00\x01\x02")) == 1
