"""``os1 talk`` with a microphone and a speaker."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from os1.cli.common import console
from os1.cli.runtime import Runtime
from os1.cli.voice import BLOCK, _show, announce_notices, policy_for, recognizer_for
from os1.mind.turn import TurnRunner
from os1.mind.voice_conversation import VoiceConversation
from os1.voice.audio import SAMPLE_RATE
from os1.voice.audio_devices import open_input_stream, open_output_stream
from os1.voice.frames import AudioIn, Frame, PartialTranscript, SpeechStarted
from os1.voice.tts import Synthesizer
from os1.voice.vad import SileroVAD


class DeviceSink:
    """The speaker: a blocking write returns once PortAudio has room for the block."""

    def __init__(self, stream: Any, sample_rate: int) -> None:
        self.stream = stream
        self.sample_rate = sample_rate

    def write(self, samples: Any) -> None:
        self.stream.write(samples.reshape(-1, 1))


# How often, while nobody speaks, to look for what fell due (a reminder to say).
NOTICE_CHECK_S = 5.0


def talk_live(rt: Runtime, turns: TurnRunner, synthesizer: Synthesizer, verbose: bool) -> None:
    voice = rt.options.voice
    microphone = open_input_stream(SAMPLE_RATE, BLOCK, voice.input_device)
    speaker = open_output_stream(synthesizer.sample_rate, voice.output_device)

    def show(frame: Frame) -> None:
        if isinstance(frame, SpeechStarted):
            console.print(Text("listening…", style="dim italic"))
        elif isinstance(frame, PartialTranscript) and verbose:
            console.print(Text(f"… {frame.text}", style="dim"))

    conversation = VoiceConversation(
        turns,
        recognizer_for(rt),
        SileroVAD(),
        synthesizer,
        DeviceSink(speaker, synthesizer.sample_rate),
        policy_for(rt),
        on_frame=show,
    )
    name = turns.name
    console.print(
        Text(
            f"{name} is listening. Speak; talk over {name} to interrupt. Ctrl-C ends. "
            "(Headphones keep the speaker out of the microphone.)",
            style="dim",
        )
    )
    at = 0.0
    checked_at = -NOTICE_CHECK_S
    with microphone, speaker:
        try:
            while True:
                block, _overflowed = microphone.read(BLOCK)
                conversation.hear(AudioIn(block[:, 0].copy(), at))
                at += BLOCK / SAMPLE_RATE
                while (turn := conversation.wait(timeout=0)) is not None:
                    _show(turn, name, verbose)
                if at - checked_at >= NOTICE_CHECK_S:
                    checked_at = at
                    announce_notices(conversation)
        except KeyboardInterrupt:
            conversation.barge_in(at)
            if (turn := conversation.wait(timeout=5)) is not None:
                _show(turn, name, verbose)
    conversation.close()
    turns.end_session()
