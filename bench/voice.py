"""Voice: speech recognition accuracy and speed, speech synthesis speed, the latency from
the end of the user's speech to the first audio of the reply, and barge-in.

    python -m bench.voice [--data ../shared/benchdata/speech] [--turns 12] [--bargeins 8]

1. STT: every clip of the speech set (``manifest.jsonl``) through the default recognizer
   (Whisper base, int8, streamed in 32 ms blocks, as ``os1 transcribe`` does): word error
   rate (lower-cased, punctuation removed, contractions kept) and real-time factor (CPU
   wall time / audio duration), each clip as a recording of its own; then each speaker's
   clips in order through the listening pipeline (VAD, recognizer, end of turn), as in a
   conversation (``stt_wer_conversation``). PocketSphinx, the fallback, is measured the
   same way in the same run as the baseline (``stt_baseline_pocketsphinx``).
2. TTS: the persona's voices (Piper "joe", espeak-ng) on reply-like sentences: real-time
   factor and time to the first audio chunk.
3. Turn latency: clips spoken to the companion in real time, one after another in one
   conversation (so the model's prompt cache is as warm as in a real one), on the
   embedded stack. Measured
   from the moment the end-of-turn silence window closed to the first reply audio written
   to the output, with each stage's share; the silence window is reported apart.
4. Barge-in: while a reply plays at real-time pace, a clip is spoken over it; from speech
   detected to playback stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import add_models_dir, log
from bench.startup import place_model

SENTENCES = [
    "That sounds lovely, I would like to hear more about it.",
    "Of course. Tell me what happened when you got there.",
    "I remember you said your sister moved to Paris last year.",
    "Yes! Let's write the letter together, one line at a time.",
    "Hmm, I'm not sure, but I think you should call her tonight.",
]


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split()
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number_words(number: int) -> list[str]:
    """0-99 as the words a reference transcript writes ("21" is "twenty one")."""
    if number < 20:
        return [_UNITS[number]]
    tens, units = divmod(number, 10)
    return [_TENS[tens - 2]] + ([_UNITS[units]] if units else [])


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, and small numbers as words: Whisper writes "1, 2, 3"
    for a reference's "ONE TWO THREE", which is no error (Whisper's own scoring
    normalises numbers too)."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).replace("_", " ").split()
    out: list[str] = []
    for word in words:
        out += _number_words(int(word)) if word.isdigit() and int(word) < 100 else [word]
    return out


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, guess in enumerate(hyp, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (word != guess)),
            )
    return row[-1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def spread(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 1), "p95": round(percentile(values, 0.95), 1)}


def load_manifest(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def make_recognizer(engine: str, models_dir: Path) -> Any:
    from os1.voice.stt import create_recognizer

    return create_recognizer(engine, models_dir=models_dir)


def measure_stt(folder: Path, clips: list[dict[str, Any]], models_dir: Path) -> dict[str, Any]:
    whisper = measure_recognizer(folder, clips, "whisper", models_dir)
    baseline = measure_recognizer(folder, clips, "pocketsphinx", models_dir)
    return {
        **whisper,
        "stt_engine": "whisper base (faster-whisper, int8, beam 1)",
        "stt_baseline_pocketsphinx": {
            k: baseline[k] for k in ("stt_wer", "stt_rtf", "stt_wer_conversation")
        },
        "stt_wer_ratio_to_pocketsphinx": round(whisper["stt_wer"] / baseline["stt_wer"], 3),
    }


def measure_recognizer(
    folder: Path, clips: list[dict[str, Any]], engine: str, models_dir: Path
) -> dict[str, Any]:
    from os1.voice.audio import load_audio
    from os1.voice.stt import transcribe

    recognizer = make_recognizer(engine, models_dir)
    errors = words = 0
    decode_s = audio_s = 0.0
    by_subset: dict[str, list[int]] = {}
    for clip in clips:
        audio = load_audio(folder / clip["audio"])
        began = time.perf_counter()
        text = transcribe(recognizer, audio, chunk_s=512 / 16_000)
        decode_s += time.perf_counter() - began
        audio_s += audio.duration_s
        ref = normalise(clip["text"])
        wrong = edit_distance(ref, normalise(text))
        errors, words = errors + wrong, words + len(ref)
        subset = by_subset.setdefault(clip["subset"], [0, 0])
        subset[0], subset[1] = subset[0] + wrong, subset[1] + len(ref)
    return {
        "stt_wer": round(errors / words, 4),
        "stt_rtf": round(decode_s / audio_s, 4),
        "stt_words": words,
        "stt_wer_by_subset": {k: round(e / max(n, 1), 4) for k, (e, n) in by_subset.items()},
        **measure_stt_conversation(folder, clips, engine, models_dir),
    }


def measure_stt_conversation(
    folder: Path, clips: list[dict[str, Any]], engine: str, models_dir: Path
) -> dict[str, Any]:
    """Word error rate as in a conversation: each speaker's clips, in order, through the
    listening pipeline (VAD, recognizer, end of turn) with one recognizer per speaker."""
    heard = conversation_wer(folder, clips, lambda: make_recognizer(engine, models_dir))
    return {"stt_wer_conversation": heard["all"], "stt_wer_conversation_by_clip": heard}


def conversation_wer(
    folder: Path, clips: list[dict[str, Any]], recognizer: Callable[[], Any]
) -> dict[str, float]:
    from os1.voice.audio import load_audio
    from os1.voice.frames import AudioIn, FinalTranscript
    from os1.voice.listening import HesitationPolicy, SpeechDetector, Transcriber, TurnDetector
    from os1.voice.pipeline import Pipeline
    from os1.voice.vad import SileroVAD

    by_speaker: dict[str, list[dict[str, Any]]] = {}
    for clip in clips:
        by_speaker.setdefault(clip["speaker"], []).append(clip)
    counts = {"first": [0, 0], "later": [0, 0]}  # errors, words
    silence = np.zeros(int(1.5 * 16_000), np.float32)
    for spoken in by_speaker.values():
        transcriber = Transcriber(recognizer())
        turns = TurnDetector(transcriber, HesitationPolicy())
        listening = Pipeline([SpeechDetector(SileroVAD()), transcriber, turns])
        at = 0.0
        for position, clip in enumerate(spoken):
            samples = np.concatenate([load_audio(folder / clip["audio"]).samples, silence])
            heard = []
            for start in range(0, len(samples), 512):
                frame = AudioIn(samples[start : start + 512], at + start / 16_000)
                heard += [f.text for f in listening.push(frame) if isinstance(f, FinalTranscript)]
            at += len(samples) / 16_000
            heard += [f.text for f in turns.end_turn(at) if isinstance(f, FinalTranscript)]
            ref = normalise(clip["text"])
            count = counts["later" if position else "first"]
            count[0] += edit_distance(ref, normalise(" ".join(heard)))
            count[1] += len(ref)
    errors = sum(c[0] for c in counts.values())
    words = sum(c[1] for c in counts.values())
    return {
        "all": round(errors / words, 4),
        **{k: round(e / max(n, 1), 4) for k, (e, n) in counts.items()},
    }


def measure_tts() -> dict[str, Any]:
    from os1.voice.tts import EspeakSynthesizer, PiperSynthesizer

    figures: dict[str, Any] = {}
    for name, synthesizer in (("piper", PiperSynthesizer()), ("espeak", EspeakSynthesizer())):
        list(synthesizer.synthesize("Warm up."))
        firsts, total_s, audio_s = [], 0.0, 0.0
        for sentence in SENTENCES:
            began = time.perf_counter()
            for i, chunk in enumerate(synthesizer.synthesize(sentence)):
                if i == 0:
                    firsts.append((time.perf_counter() - began) * 1000)
                audio_s += len(chunk) / synthesizer.sample_rate
            total_s += time.perf_counter() - began
        figures[name] = {"rtf": round(total_s / audio_s, 4), "first_chunk_ms": spread(firsts)}
    return {
        "tts_rtf": figures["piper"]["rtf"],
        "tts_first_chunk_ms": figures["piper"]["first_chunk_ms"],
        "tts_by_engine": figures,
    }


def _home(models_dir: Path) -> Path:
    from os1.llm.embedded import BUNDLED_MODEL_FILE, bundled_model_path

    home = Path(tempfile.mkdtemp(prefix="os1-bench-voice-"))
    place_model(bundled_model_path(models_dir), home / "models" / BUNDLED_MODEL_FILE)
    os.environ["OS1_HOME"] = str(home)
    os.environ["OS1_MODEL_BACKEND"] = "embedded"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "os1",
            "setup",
            "--yes",
            "--name",
            "Theodore",
            "--voice",
            "masculine",
        ],
        check=True,
        capture_output=True,
    )
    return home


def _conversation(sink: Any) -> Any:
    from os1.cli.runtime import Runtime
    from os1.cli.voice import policy_for, recognizer_for, synthesizer_for
    from os1.mind.voice_conversation import VoiceConversation
    from os1.voice.vad import SileroVAD

    rt = Runtime()
    return rt, VoiceConversation(
        rt.turns(), recognizer_for(rt), SileroVAD(), synthesizer_for(rt), sink, policy_for(rt)
    )


def _feed(conversation: Any, samples: np.ndarray, at: float, pace: bool) -> float:
    from os1.voice.frames import AudioIn

    block = 512
    started = time.perf_counter()
    for start in range(0, len(samples), block):
        if pace:
            # Real time: a microphone delivers each block when it has been spoken.
            time.sleep(max(0.0, started + start / 16_000 - time.perf_counter()))
        conversation.hear(AudioIn(samples[start : start + block], at + start / 16_000))
    return at + len(samples) / 16_000


def measure_turns(folder: Path, clips: list[dict[str, Any]], turns: int) -> dict[str, Any]:
    from os1.voice.audio import load_audio
    from os1.voice.speaking import FileSink

    rt, conversation = _conversation(FileSink(22_050))
    silence = np.zeros(int(1.5 * 16_000), np.float32)
    stages: dict[str, list[float]] = {
        k: [] for k in ("final_transcript", "first_token", "first_phrase", "first_audio")
    }
    windows, at, done, early = [], 0.0, 0, 0
    # One untimed turn first, as a conversation would have had: the prompt's fixed prefix
    # is then in the model's cache.
    for clip in [clips[0], *clips[1 : turns + 1]]:
        samples = np.concatenate([load_audio(folder / clip["audio"]).samples, silence])
        # At the pace a microphone delivers it: the listening work is spread over the
        # speech as in real use, not piled onto the moment the turn ends.
        at = _feed(conversation, samples, at, pace=True)
        turn = conversation.wait(timeout=120)
        if turn is None or turn.error or turn.timings.first_audio_s is None:
            log(f"  no reply audio for {clip['audio']}: {turn.error if turn else 'timeout'}")
            continue
        done += 1
        if done == 1:
            continue
        t = turn.timings
        early += turn.begun_early
        windows.append(t.end_silence_s * 1000)
        stages["final_transcript"].append((t.final_transcript_s or 0) * 1000)
        stages["first_token"].append((t.first_token_s or 0) * 1000)
        stages["first_phrase"].append((t.first_phrase_s or 0) * 1000)
        stages["first_audio"].append(t.first_audio_s * 1000)
        log(f"  {clip['audio']}: first audio {t.first_audio_s * 1000:.0f} ms")
    rt.close()
    p50 = {k: statistics.median(v) for k, v in stages.items() if v}
    return {
        "speech_end_to_first_audio_ms": spread(stages["first_audio"]),
        "end_of_turn_silence_ms": spread(windows),
        "stage_ms_p50": {k: round(v, 1) for k, v in p50.items()},
        "stage_share_p50": {
            "final_transcript": round(p50["final_transcript"] / p50["first_audio"], 3),
            "model_to_first_token": round(
                (p50["first_token"] - p50["final_transcript"]) / p50["first_audio"], 3
            ),
            "first_token_to_first_phrase": round(
                (p50["first_phrase"] - p50["first_token"]) / p50["first_audio"], 3
            ),
            "speech_synthesis": round(
                (p50["first_audio"] - p50["first_phrase"]) / p50["first_audio"], 3
            ),
        },
        "turns_timed": len(stages["first_audio"]),
        # Replies begun in the pause before the turn ended, on the same words.
        "replies_begun_early": early,
    }


def measure_bargein(folder: Path, clips: list[dict[str, Any]], count: int) -> dict[str, Any]:
    from os1.voice.audio import load_audio
    from os1.voice.speaking import RealTimeSink

    rt, conversation = _conversation(RealTimeSink(22_050))
    silence = np.zeros(int(1.5 * 16_000), np.float32)
    stops, cancelled, at = [], 0, 0.0
    for i in range(count):
        question = clips[(2 * i) % len(clips)]
        samples = np.concatenate([load_audio(folder / question["audio"]).samples, silence])
        at = _feed(conversation, samples, at, pace=False)
        # Wait until the reply is audible, then talk over it, in real time.
        deadline = time.perf_counter() + 60
        while conversation.speaking and time.perf_counter() < deadline:
            reply = conversation._reply
            if reply is not None and reply.playback.first_audio_at is not None:
                break
            time.sleep(0.01)
        interruption = load_audio(folder / clips[(2 * i + 1) % len(clips)]["audio"]).samples
        # From its first sound: the barge-in should come while the reply still plays.
        onset = int(np.argmax(np.abs(interruption) > 0.05))
        interruption = interruption[max(0, onset - 1_600) :]
        feeder = threading.Thread(
            target=_feed, args=(conversation, interruption[: 16_000 * 2], at, True)
        )
        feeder.start()
        turn = conversation.wait(timeout=60)
        feeder.join()
        at += 2.0
        if turn is not None and turn.interrupted and turn.bargein_stop_s is not None:
            stops.append(turn.bargein_stop_s * 1000)
            cancelled += turn.spoken != turn.generated or len(turn.spoken) < len(turn.generated)
        # The interruption itself is a turn: let it end and drain its reply, uninterrupted.
        at = _feed(conversation, silence, at, pace=False)
        conversation.barge_in(at)
        conversation.wait(timeout=60)
    rt.close()
    return {
        "bargein_stop_ms": {
            "p95": round(percentile(stops, 0.95), 1) if stops else None,
            "p50": round(statistics.median(stops), 1) if stops else None,
        },
        "bargeins": len(stops),
        "bargeins_cut_reply": int(cancelled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchdata/speech"))
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--bargeins", type=int, default=8)
    parser.add_argument("--skip-stt", action="store_true", help="skip the WER pass")
    add_models_dir(parser)
    args = parser.parse_args()
    clips = load_manifest(args.data)
    result: dict[str, Any] = {
        "benchmark": "voice",
        "clips": len(clips),
        "cpu_count": os.cpu_count(),
    }
    if not args.skip_stt:
        log("speech recognition over every clip…")
        result.update(measure_stt(args.data, clips, args.models_dir))
    log("speech synthesis…")
    result.update(measure_tts())
    _home(args.models_dir)
    talkable = [c for c in clips if c["duration_s"] <= 6.0]
    log("spoken turns…")
    result.update(measure_turns(args.data, talkable, args.turns))
    log("barge-in…")
    result.update(measure_bargein(args.data, talkable, args.bargeins))
    result["targets"] = {
        "stt_wer": "<= 0.12 (pocketsphinx: 0.482 on this set)",
        "stt_wer_conversation": "<= 0.12",
        "speech_end_to_first_audio_ms": {"p50": 800, "p95": 1500},
        "bargein_stop_ms": {"p95": 200},
    }
    result["load_avg_1m"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
