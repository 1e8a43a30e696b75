"""Voice engines with their real embedded models: WAV handling, VAD, PocketSphinx, Piper."""

from __future__ import annotations

import logging
import re
import shutil
import struct
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from os1.voice.audio import (
    SAMPLE_RATE,
    Audio,
    AudioError,
    describe_problems,
    from_pcm16,
    load_audio,
    read_wav,
    resample,
    to_pcm16,
    write_wav,
)
from os1.voice.audio_devices import DevicesUnavailable, open_input_stream, open_output_stream
from os1.voice.errors import EngineUnavailable, VoiceError
from os1.voice.stt import (
    PocketSphinxRecognizer,
    WhisperCppRecognizer,
    create_recognizer,
    transcribe,
)
from os1.voice.tts import (
    EspeakSynthesizer,
    KokoroSynthesizer,
    PiperSynthesizer,
    create_synthesizer,
)
from os1.voice.vad import EnergyVAD, SileroVAD

SPEECH_DIR = Path("../shared/benchdata/speech")
HAS_ESPEAK = shutil.which("espeak-ng") is not None


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


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


# --- WAV files --------------------------------------------------------------------------------


def test_stereo_44k_is_downmixed_and_resampled(tmp_path: Path) -> None:
    left, right = sine(440, 44100, 1.5, 0.4), sine(440, 44100, 1.5, 0.2)
    pcm = np.round(np.stack([left, right], axis=1) * 32767).astype("<i2").tobytes()
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes(pcm)
    audio = load_audio(path)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(1.5, abs=0.01)
    assert np.max(np.abs(audio.samples[1000:-1000])) == pytest.approx(0.3, abs=0.01)
    assert peak_hz(audio.samples, SAMPLE_RATE) == pytest.approx(440, abs=2)


def test_24_bit_8_bit_and_float_wavs(tmp_path: Path) -> None:
    values = np.array([0.0, 0.5, -0.5, 0.25, -1.0], dtype=np.float64)
    ints = np.round(values * (2**23 - 1)).astype(np.int64)
    packed = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    (tmp_path / "24.wav").write_bytes(riff(1, 1, 16000, 24, packed))
    np.testing.assert_allclose(read_wav(tmp_path / "24.wav").samples, values, atol=1e-6)

    unsigned = np.round(values * 127 + 128).clip(0, 255).astype(np.uint8).tobytes()
    (tmp_path / "8.wav").write_bytes(riff(1, 1, 8000, 8, unsigned))
    np.testing.assert_allclose(read_wav(tmp_path / "8.wav").samples, values, atol=0.01)

    floats = values.astype("<f4").tobytes()
    for extensible in (False, True):
        path = tmp_path / f"float-{extensible}.wav"
        path.write_bytes(riff(3, 1, 22050, 32, floats, extensible=extensible))
        audio = read_wav(path)
        assert audio.sample_rate == 22050
        np.testing.assert_allclose(audio.samples, values, atol=1e-7)


def test_truncated_wav_keeps_what_is_there(tmp_path: Path) -> None:
    tone = sine(300, 16000, 0.5)
    path = tmp_path / "full.wav"
    write_wav(path, Audio(tone, 16000))
    blob = path.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(blob[: 44 + 2 * 3000 + 1])  # the header still promises 8000 samples
    audio = read_wav(cut)
    assert len(audio.samples) == 3000
    np.testing.assert_allclose(audio.samples, tone[:3000], atol=1e-4)

    header_only = tmp_path / "header.wav"
    header_only.write_bytes(blob[:44])
    with pytest.raises(AudioError, match="no audio samples"):
        read_wav(header_only)


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    mp3 = tmp_path / "in.wav"
    mp3.write_bytes(b"ID3\x04\x00\x00\x00" + bytes(200))
    with pytest.raises(AudioError, match=r"MP3.*ffmpeg -i .*in\.wav -ar 16000 -ac 1"):
        read_wav(mp3)
    text = tmp_path / "notes.wav"
    text.write_text("hello, this is not audio")
    with pytest.raises(AudioError, match="not a WAV file"):
        read_wav(text)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        read_wav(empty)
    with pytest.raises(AudioError, match="does not exist"):
        read_wav(tmp_path / "missing.wav")


def test_describe_problems() -> None:
    assert "the audio is silent" in describe_problems(Audio(np.zeros(16000, np.float32), 16000))
    clipped = np.clip(sine(200, 16000, 1.0, 3.0), -1, 1)
    assert any("clipped" in p for p in describe_problems(Audio(clipped, 16000)))
    short = sine(200, 16000, 0.05)
    assert "the audio is very short (0.05 s)" in describe_problems(Audio(short, 16000))
    assert describe_problems(Audio(sine(200, 16000, 1.0), 16000)) == []


@pytest.mark.parametrize(("src", "dst"), [(44100, 16000), (16000, 22050), (48000, 16000)])
def test_resample_keeps_frequency(src: int, dst: int) -> None:
    out = resample(sine(440, src, 1.0), src, dst)
    assert out.dtype == np.float32
    assert len(out) == pytest.approx(dst, abs=1)
    assert peak_hz(out, dst) == pytest.approx(440, abs=2)
    assert np.max(np.abs(out[500:-500])) == pytest.approx(0.5, abs=0.01)


def test_resample_removes_tones_above_new_nyquist() -> None:
    out = resample(sine(10000, 44100, 1.0), 44100, 16000)
    assert np.max(np.abs(out[500:-500])) < 0.01


def test_pcm16_round_trip() -> None:
    tone = sine(300, 16000, 0.1)
    np.testing.assert_allclose(from_pcm16(to_pcm16(tone)), tone, atol=1e-4)
    assert len(from_pcm16(b"\x00\x01\x02")) == 1


# --- Engines with real models ------------------------------------------------------------------


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


@pytest.fixture(scope="module")
def spoken(piper: PiperSynthesizer) -> Audio:
    """Piper saying a command, at 16 kHz with half a second of silence either side."""
    speech = np.concatenate(list(piper.synthesize("Go forward ten meters and then turn left.")))
    samples = resample(speech, piper.sample_rate, SAMPLE_RATE)
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    return Audio(np.concatenate([pad, samples, pad]), SAMPLE_RATE)


def frame_probabilities(vad: SileroVAD | EnergyVAD, samples: np.ndarray) -> np.ndarray:
    vad.reset()
    n = vad.frame_samples
    return np.array(
        [vad.speech_probability(samples[i : i + n]) for i in range(0, len(samples) - n + 1, n)]
    )


@pytest.mark.parametrize("make_vad", [SileroVAD, EnergyVAD])
def test_vad_separates_synthesized_speech_from_silence(make_vad: type, spoken: Audio) -> None:
    vad = make_vad()
    probabilities = frame_probabilities(vad, spoken.samples)
    lead = SAMPLE_RATE // 2 // vad.frame_samples
    assert probabilities[: lead - 1].max() < 0.3
    assert np.mean(probabilities[lead + 3 : -lead - 3] > 0.5) > 0.6


def test_silero_on_real_recording() -> None:
    clip = SPEECH_DIR / "cmu-arctic-aew-a0001.wav"
    if not clip.exists():
        pytest.skip(f"{SPEECH_DIR} is not beside the repository")
    samples = load_audio(clip).samples
    vad = SileroVAD()
    assert vad.frame_samples == 512
    speech = frame_probabilities(vad, samples)
    assert speech.max() > 0.9 and np.mean(speech > 0.5) > 0.4
    silence = frame_probabilities(vad, np.zeros(SAMPLE_RATE, np.float32))
    assert silence.max() < 0.1
    with pytest.raises(VoiceError, match="512 samples"):
        vad.speech_probability(np.zeros(100, np.float32))


def test_piper_streams_one_chunk_per_sentence(piper: PiperSynthesizer) -> None:
    chunks = list(piper.synthesize("Hello there. How are you today?"))
    assert len(chunks) == 2
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    assert piper.sample_rate == 22050
    assert 0.5 < np.max(np.abs(chunks[0])) <= 1.0


def test_pocketsphinx_streams_partials_and_transcribes(
    sphinx: PocketSphinxRecognizer, spoken: Audio
) -> None:
    sphinx.start()
    step = SAMPLE_RATE // 10
    partials = [
        sphinx.feed(spoken.samples[i : i + step]) for i in range(0, len(spoken.samples), step)
    ]
    final = sphinx.finish()
    assert sum(p is not None for p in partials) >= 2
    expected = set(words("go forward ten meters and then turn left"))
    assert len(expected & set(words(final))) >= 5, final


def test_pocketsphinx_final_pass_until_it_has_settled_on_the_speaker(spoken: Audio) -> None:
    recognizer = PocketSphinxRecognizer(settle_s=2.0)
    expected = set(words("go forward ten meters and then turn left"))
    samples = spoken.samples

    def feed(part: np.ndarray) -> None:
        for start in range(0, len(part), 512):
            recognizer.feed(part[start : start + 512])

    recognizer.start()
    assert not recognizer.settled  # first words from this speaker: a final pass
    feed(samples)
    recognizer.prefinish()  # the speaker paused: the final pass starts early
    early = recognizer.early_result()
    assert early is not None and recognizer.finish().strip() == early

    recognizer.start()
    assert recognizer.settled  # the live pass's words are final now
    middle = len(samples) // 2
    feed(samples[:middle])
    recognizer.prefinish()  # a pause mid-sentence ends a segment: its words are final
    first_half = recognizer.early_result(wait=False)
    assert first_half
    recognizer.resume()  # and speech goes on, in a new segment
    feed(samples[middle:])
    final = recognizer.finish()
    assert final.startswith(first_half) and len(expected & set(words(final))) >= 4, final

    recognizer.new_recording()  # another recording: a final pass again
    recognizer.start()
    assert not recognizer.settled
    feed(samples)
    assert len(expected & set(words(recognizer.finish()))) >= 5


@pytest.mark.parametrize(
    "sentence",
    ["Please open the front door.", "What time is it in London right now?"],
)
def test_round_trip_tts_to_stt(
    piper: PiperSynthesizer, sphinx: PocketSphinxRecognizer, sentence: str
) -> None:
    speech = np.concatenate(list(piper.synthesize(sentence)))
    heard = transcribe(sphinx, Audio(speech, piper.sample_rate))
    expected = set(words(sentence))
    assert len(expected & set(words(heard))) >= 0.6 * len(expected), heard


def test_create_recognizer_pocketsphinx() -> None:
    recognizer = create_recognizer("pocketsphinx")
    assert recognizer.name == "pocketsphinx"
    assert transcribe(recognizer, Audio(np.zeros(8000, np.float32), SAMPLE_RATE)) == ""


# --- Choices, fallbacks and clear errors ------------------------------------------------------


def test_persona_voices() -> None:
    assert isinstance(create_synthesizer("masculine"), PiperSynthesizer)
    assert isinstance(create_synthesizer("neutral"), PiperSynthesizer)
    with pytest.raises(VoiceError, match="feminine, masculine or neutral"):
        create_synthesizer("robotic")


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_espeak_voice_and_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    feminine = create_synthesizer("feminine")
    assert isinstance(feminine, EspeakSynthesizer) and feminine.voice == "en-us+f3"
    chunks = list(feminine.synthesize("Hello. I am here."))
    assert len(chunks) == 2 and all(len(c) > 1000 for c in chunks)
    with caplog.at_level(logging.WARNING):
        fallback = create_synthesizer("masculine", model_path=tmp_path / "missing.onnx")
    assert isinstance(fallback, EspeakSynthesizer)
    assert "espeak-ng instead" in caplog.text


def test_missing_espeak_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EngineUnavailable, match="apt-get install espeak-ng"):
        EspeakSynthesizer()


def test_missing_piper_voice_files(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="does not exist"):
        PiperSynthesizer(tmp_path / "nobody.onnx")
    lonely = tmp_path / "voice.onnx"
    lonely.write_bytes(b"onnx")
    with pytest.raises(VoiceError, match=r"voice\.onnx\.json"):
        PiperSynthesizer(lonely)


def test_optional_engines_say_how_to_install(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    with pytest.raises(EngineUnavailable, match="pip install pywhispercpp"):
        WhisperCppRecognizer(model)
    with pytest.raises(EngineUnavailable, match="pip install kokoro-onnx"):
        KokoroSynthesizer(model)
    with pytest.raises(VoiceError, match="unknown speech recognition engine"):
        create_recognizer("dragon")


def test_no_sound_library_means_devices_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes the import fail
    with pytest.raises(DevicesUnavailable, match="--input/--output files"):
        open_input_stream()
    with pytest.raises(DevicesUnavailable, match="No microphone/speaker"):
        open_output_stream(22050)
