"""Voice engines with their real embedded models: VAD, PocketSphinx, Piper."""

from __future__ import annotations

import logging
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from os1.voice.audio import SAMPLE_RATE, Audio, load_audio, resample
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
    PiperSynthesizer,
    create_synthesizer,
)
from os1.voice.vad import EnergyVAD, SileroVAD

SPEECH_DIR = Path("../shared/benchdata/speech")
HAS_ESPEAK = shutil.which("espeak-ng") is not None


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


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
    with pytest.raises(VoiceError, match="unknown speech recognition engine"):
        create_recognizer("dragon")


def test_no_sound_library_means_devices_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes the import fail
    with pytest.raises(DevicesUnavailable, match="--input/--output files"):
        open_input_stream()
    with pytest.raises(DevicesUnavailable, match="No microphone/speaker"):
        open_output_stream(22050)
