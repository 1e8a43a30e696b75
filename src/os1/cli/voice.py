"""Commands for speaking: talk, say, transcribe."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.text import Text

from os1.cli.common import console, errors, friendly_errors, print_json, runtime
from os1.cli.runtime import Runtime
from os1.cli.talk import show_notice
from os1.llm.base import preload_in_background
from os1.mind import assembly
from os1.mind.turn import TurnRunner
from os1.mind.voice_conversation import VoiceConversation
from os1.voice.audio import SAMPLE_RATE, Audio, describe_problems, load_audio, write_wav
from os1.voice.errors import VoiceError
from os1.voice.frames import AudioIn, Frame, PartialTranscript, SpokenTurn
from os1.voice.listening import TurnEndPolicy
from os1.voice.speaking import AudioSink, FileSink
from os1.voice.stt import Recognizer, transcribe
from os1.voice.tts import Synthesizer
from os1.voice.vad import SileroVAD, contains_speech

# Input is fed in blocks like a microphone's: 32 ms.
BLOCK = 512


def recognizer_for(rt: Runtime) -> Recognizer:
    return assembly.recognizer(rt.options.voice)


def synthesizer_for(rt: Runtime, persona_voice: str | None = None) -> Synthesizer:
    if persona_voice is None:
        persona = rt.store.persona()
        persona_voice = persona.voice if persona else "feminine"
    return assembly.synthesizer(rt.options.voice, persona_voice)


def policy_for(rt: Runtime) -> TurnEndPolicy:
    return assembly.turn_policy(rt.options.voice)


def _load(path: Path) -> Audio:
    audio = load_audio(path, SAMPLE_RATE)
    for problem in describe_problems(audio):
        errors.print(Text.assemble(("os1: ", "bold yellow"), f"{path.name}: {problem}"))
    return audio


@click.command("transcribe")
@click.argument("audio_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON with timing.")
@click.pass_context
@friendly_errors
def transcribe_command(ctx: click.Context, audio_file: Path, as_json: bool) -> None:
    """Write down what is said in an audio file: WAV, FLAC, Ogg/Opus or MP3, any rate."""
    rt = runtime(ctx)
    audio = _load(audio_file)
    recognizer = recognizer_for(rt)
    began = time.perf_counter()
    text = transcribe(recognizer, audio) if contains_speech(audio.samples, SileroVAD()) else ""
    elapsed = time.perf_counter() - began
    if as_json:
        print_json(
            {
                "text": text,
                "engine": recognizer.name,
                "audio_s": round(audio.duration_s, 3),
                "real_time_factor": round(elapsed / max(audio.duration_s, 1e-9), 3),
            }
        )
    elif text:
        click.echo(text)
    else:
        errors.print("os1: no words were recognised in that audio.")
        sys.exit(1)


@click.command()
@click.argument("text", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="WAV file to write.",
)
@click.option(
    "--voice",
    type=click.Choice(["feminine", "masculine", "neutral"]),
    help="Which voice; by default the one chosen at first run.",
)
@click.pass_context
@friendly_errors
def say(ctx: click.Context, text: tuple[str, ...], output: Path, voice: str | None) -> None:
    """Speak TEXT into a WAV file ("-" reads the text from standard input)."""
    rt = runtime(ctx)
    message = sys.stdin.read() if text == ("-",) else " ".join(text)
    if not message.strip():
        raise VoiceError("Nothing to say: the text is empty.")
    synthesizer = synthesizer_for(rt, voice)
    chunks = list(synthesizer.synthesize(message))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    write_wav(output, Audio(samples.astype(np.float32), synthesizer.sample_rate))
    console.print(
        Text(
            f"Wrote {output} ({len(samples) / synthesizer.sample_rate:.1f} s, "
            f"{synthesizer.name} voice).",
            style="dim",
        )
    )


@click.command()
@click.option(
    "--input",
    "input_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Hear this audio file (WAV, FLAC, Ogg/Opus, MP3) instead of the microphone.",
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the spoken reply to this WAV file instead of the speaker.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print when each stage of every turn happened.")
@click.option("--json", "as_json", is_flag=True, help="With --input: print the turns as JSON.")
@click.pass_context
@friendly_errors
def talk(
    ctx: click.Context,
    input_file: Path | None,
    output_file: Path | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Talk by voice: the microphone and speaker, or an audio file in and a WAV file out.

    Speak over OS1 to interrupt it; only what you heard it say is remembered.
    """
    rt = runtime(ctx)
    if (input_file is None) != (output_file is None):
        raise VoiceError("Give both --input and --output, or neither (microphone and speaker).")
    turns = rt.turns()
    preload_in_background(turns.companion.backend)  # while the voice loads
    synthesizer = synthesizer_for(rt)
    if input_file is None or output_file is None:
        from os1.cli.live import talk_live

        talk_live(rt, turns, synthesizer, verbose)
        return
    audio = _load(input_file)
    sink = FileSink(synthesizer.sample_rate)
    spoken = talk_file(rt, turns, synthesizer, sink, audio, verbose and not as_json)
    if not spoken:
        raise VoiceError(f"No speech was heard in {input_file}.")
    write_wav(output_file, Audio(sink.audio(), synthesizer.sample_rate))
    if as_json:
        print_json([_turn_json(t) for t in spoken])
    turns.end_session()


def talk_file(
    rt: Runtime,
    turns: TurnRunner,
    synthesizer: Synthesizer,
    sink: AudioSink,
    audio: Audio,
    verbose: bool,
) -> list[SpokenTurn]:
    """Hear a recording as if it came from a microphone (faster than real time), replying
    after each turn; the replies' audio goes to ``sink``. Notices that fall due between
    turns are printed and spoken."""
    shown: list[Frame] = []
    conversation = VoiceConversation(
        turns,
        recognizer_for(rt),
        SileroVAD(),
        synthesizer,
        sink,
        policy_for(rt),
        on_frame=shown.append,
    )
    name = turns.name
    heard: list[SpokenTurn] = []
    # Trailing silence, so a recording that stops right after the last word still ends
    # its turn through the normal end-of-turn path.
    samples = np.concatenate([audio.samples, np.zeros(SAMPLE_RATE * 2, np.float32)])
    announce_notices(conversation)
    for start in range(0, len(samples), BLOCK):
        conversation.hear(AudioIn(samples[start : start + BLOCK], start / SAMPLE_RATE))
        if conversation.speaking:
            # A file cannot wait for the reply to be heard, so it waits here instead;
            # otherwise its next words would interrupt the reply.
            heard.append(_finish(conversation, name, verbose))
            announce_notices(conversation)
    conversation.end_of_input(len(samples) / SAMPLE_RATE)
    if conversation.speaking:
        heard.append(_finish(conversation, name, verbose))
    conversation.close()
    if verbose:
        for frame in shown:
            if isinstance(frame, PartialTranscript):
                console.print(Text(f"… {frame.text}", style="dim"))
    return heard


def announce_notices(conversation: VoiceConversation) -> None:
    """Between turns: print and say what fell due (a reminder)."""
    for notice in conversation.due_notices():
        show_notice(notice)
        conversation.announce(notice.text)


def _finish(conversation: VoiceConversation, name: str, verbose: bool) -> SpokenTurn:
    turn = conversation.wait()
    assert turn is not None
    _show(turn, name, verbose)
    return turn


def _show(turn: SpokenTurn, name: str, verbose: bool) -> None:
    console.print(Text.assemble(("You: ", "bold"), turn.heard))
    console.print(
        Text.assemble(
            (f"{name}: ", "bold #c0392b"), turn.spoken, (" …" if turn.interrupted else "", "dim")
        )
    )
    if verbose:
        t = turn.timings
        stages = [
            f"end-of-turn silence {t.end_silence_s * 1000:.0f} ms",
            f"final transcript +{(t.final_transcript_s or 0) * 1000:.0f} ms",
            f"first token +{(t.first_token_s or 0) * 1000:.0f} ms",
            f"first audio +{(t.first_audio_s or 0) * 1000:.0f} ms",
        ]
        console.print(Text("   " + " · ".join(stages), style="dim"))


def _turn_json(turn: SpokenTurn) -> dict[str, Any]:
    return {
        "heard": turn.heard,
        "spoken": turn.spoken,
        "interrupted": turn.interrupted,
        "timings": turn.timings.as_dict(),
        "turn_id": turn.reply_turn_id,
    }
