"""The voice WebSocket protocol: how pipeline frames travel to a browser or an app.

Documented in docs/voice-protocol.md. Binary messages carry audio (PCM16 little-endian,
mono); text messages carry JSON events. This module turns frames into messages and client
messages into audio or commands, with no I/O, so the server and the tests share it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from os1.voice.audio import SAMPLE_RATE, StreamResampler, from_pcm16, to_pcm16
from os1.voice.frames import (
    AudioIn,
    FinalTranscript,
    Frame,
    Interrupted,
    PartialTranscript,
    ReplyAudio,
    ReplyText,
    SpeechStarted,
    SpeechStopped,
    SpokenTurn,
)

PROTOCOL_VERSION = 1
# Client audio larger than this in one message is refused: 10 s at 48 kHz.
MAX_AUDIO_BYTES = 48_000 * 2 * 10
COMMANDS = ("start", "interrupt", "end", "text")


class ProtocolError(ValueError):
    """A client message that breaks the protocol; the message says what was expected."""


@dataclass(frozen=True)
class Command:
    name: str
    sample_rate: int = SAMPLE_RATE
    text: str = ""


def hello(output_sample_rate: int) -> dict[str, Any]:
    """The server's first message."""
    return {
        "type": "ready",
        "protocol": PROTOCOL_VERSION,
        "input": {"encoding": "pcm16le", "channels": 1, "sample_rate": SAMPLE_RATE},
        "output": {"encoding": "pcm16le", "channels": 1, "sample_rate": output_sample_rate},
    }


def messages_for(frame: Frame) -> list[dict[str, Any] | bytes]:
    """The messages a frame becomes: a JSON event, and for audio the PCM16 that follows it."""
    if isinstance(frame, SpeechStarted):
        return [{"type": "speech_started", "at": round(frame.at, 3)}]
    if isinstance(frame, SpeechStopped):
        return [{"type": "speech_stopped", "at": round(frame.at, 3)}]
    if isinstance(frame, PartialTranscript):
        return [{"type": "partial_transcript", "text": frame.text}]
    if isinstance(frame, FinalTranscript):
        return [{"type": "final_transcript", "text": frame.text}]
    if isinstance(frame, ReplyText):
        return [{"type": "reply_text", "text": frame.text}]
    if isinstance(frame, ReplyAudio):
        pcm = to_pcm16(frame.samples)
        return [
            {
                "type": "audio",
                "sample_rate": frame.sample_rate,
                "bytes": len(pcm),
                "text": frame.text,
            },
            pcm,
        ]
    if isinstance(frame, Interrupted):
        return [{"type": "interrupted", "spoken": frame.spoken}]
    return []


def turn_done(turn: SpokenTurn) -> dict[str, Any]:
    return {
        "type": "turn_end",
        "heard": turn.heard,
        "spoken": turn.spoken,
        "interrupted": turn.interrupted,
        "turn_id": turn.reply_turn_id,
        "timings": turn.timings.as_dict(),
        "error": turn.error,
    }


class ClientStream:
    """Reads one client's messages: the sample rate it announced, and its audio as 16 kHz
    frames on the stream's clock."""

    def __init__(self) -> None:
        self.sample_rate = SAMPLE_RATE
        self.at = 0.0
        # One resampler for the whole stream: resampling each 40 ms block on its own left
        # a seam at every block (36 dB SNR, measured on speech at 48 kHz).
        self._resampler: StreamResampler | None = None

    def audio(self, data: bytes) -> AudioIn:
        if len(data) > MAX_AUDIO_BYTES:
            raise ProtocolError(
                f"an audio message of {len(data)} bytes is too large; send blocks of "
                f"20–100 ms (at most {MAX_AUDIO_BYTES} bytes)"
            )
        if len(data) % 2:
            raise ProtocolError("audio must be 16-bit PCM: an even number of bytes")
        samples = from_pcm16(data)
        if self._resampler is not None:
            samples = self._resampler.feed(samples)
        frame = AudioIn(samples.astype(np.float32), self.at)
        self.at += len(samples) / SAMPLE_RATE
        return frame

    def command(self, text: str) -> Command:
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"a text message must be JSON ({exc.msg})") from None
        if not isinstance(message, dict) or message.get("type") not in COMMANDS:
            raise ProtocolError(f"a command needs a type, one of: {', '.join(COMMANDS)}")
        name = str(message["type"])
        if name == "start":
            rate = message.get("sample_rate", SAMPLE_RATE)
            if not isinstance(rate, int) or not 8_000 <= rate <= 96_000:
                raise ProtocolError("sample_rate must be a whole number from 8000 to 96000")
            self.sample_rate = rate
            self._resampler = StreamResampler(rate, SAMPLE_RATE) if rate != SAMPLE_RATE else None
            return Command(name, sample_rate=rate)
        if name == "text":
            said = message.get("text")
            if not isinstance(said, str) or not said.strip():
                raise ProtocolError("a text command needs a non-empty text")
            return Command(name, text=said)
        return Command(name)
