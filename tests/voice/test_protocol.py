"""The voice WebSocket protocol's messages, both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest

from os1.voice.frames import (
    FinalTranscript,
    Interrupted,
    PartialTranscript,
    ReplyAudio,
    SpeechStarted,
)
from os1.voice.protocol import ClientStream, ProtocolError, hello, messages_for


def test_frames_become_json_events_and_pcm() -> None:
    assert hello(22_050)["output"]["sample_rate"] == 22_050
    assert messages_for(SpeechStarted(1.23456)) == [{"type": "speech_started", "at": 1.235}]
    assert messages_for(PartialTranscript("remind me", 2.0))[0]["text"] == "remind me"
    assert messages_for(FinalTranscript("remind me", 2.0, 2.6))[0]["type"] == "final_transcript"
    event, pcm = messages_for(ReplyAudio(np.full(100, 0.5, np.float32), 22_050, "Of course."))
    assert isinstance(event, dict) and isinstance(pcm, bytes)
    assert event == {"type": "audio", "sample_rate": 22_050, "bytes": 200, "text": "Of course."}
    assert np.frombuffer(pcm, "<i2")[0] == round(0.5 * 32767)
    assert messages_for(Interrupted(3.0, "Of"))[0] == {"type": "interrupted", "spoken": "Of"}
    json.dumps(messages_for(SpeechStarted(0.0)))  # every event is plain JSON


def test_client_audio_is_resampled_and_clocked() -> None:
    stream = ClientStream()
    assert stream.command('{"type": "start", "sample_rate": 48000}').sample_rate == 48_000
    tone = (np.sin(np.arange(4_800) / 10) * 10_000).astype("<i2").tobytes()  # 100 ms
    first = stream.audio(tone)
    second = stream.audio(tone)
    # The resampler holds back a few milliseconds, then keeps pace.
    assert 1_300 < len(first.samples) <= 1_600 and first.at == 0.0
    assert second.at == pytest.approx(len(first.samples) / 16_000)
    frames = [stream.audio(tone) for _ in range(8)]
    total = len(first.samples) + len(second.samples) + sum(len(f.samples) for f in frames)
    assert total == pytest.approx(16_000, abs=400)  # 1 s in, 1 s out less the hold-back


def test_client_audio_blocks_are_resampled_without_seams() -> None:
    """A 440 Hz tone sent in 40 ms blocks at 48 kHz comes out as one clean tone at 16 kHz."""
    stream = ClientStream()
    stream.command('{"type": "start", "sample_rate": 48000}')
    t = np.arange(48_000 * 2) / 48_000
    pcm = np.round(np.sin(2 * np.pi * 440 * t) * 16_000).astype("<i2")
    out = np.concatenate(
        [stream.audio(pcm[i : i + 1_920].tobytes()).samples for i in range(0, len(pcm), 1_920)]
    )
    steady = out[1_000:-1_000]
    n = np.arange(len(steady))
    # Fit the tone (its phase is shifted by the resampler's delay) and measure what is left.
    basis = np.stack(
        [np.sin(2 * np.pi * 440 * n / 16_000), np.cos(2 * np.pi * 440 * n / 16_000)], 1
    )
    fit, *_ = np.linalg.lstsq(basis, steady, rcond=None)
    residual = steady - basis @ fit
    snr_db = 10 * np.log10(np.sum((basis @ fit) ** 2) / np.sum(residual**2))
    assert snr_db > 60  # seams at each block measured 36 dB


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "must be JSON"),
        ('{"type": "dance"}', "one of: start"),
        ('{"type": "start", "sample_rate": 5}', "sample_rate"),
        ('{"type": "text", "text": "  "}', "non-empty"),
        ("[1, 2]", "needs a type"),
    ],
)
def test_bad_commands_are_explained(message: str, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        ClientStream().command(message)


def test_bad_audio_is_explained() -> None:
    stream = ClientStream()
    with pytest.raises(ProtocolError, match="even number"):
        stream.audio(b"\x00\x01\x02")
    with pytest.raises(ProtocolError, match="too large"):
        stream.audio(b"\x00" * 2_000_000)
    assert stream.command('{"type": "text", "text": "hi"}').text == "hi"
