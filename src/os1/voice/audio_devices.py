"""Microphone and speaker streams through sounddevice (PortAudio).

Both are optional: servers, containers and CI boxes have neither PortAudio nor sound cards, so
sounddevice is imported only when a stream is opened, and every failure becomes a
DevicesUnavailable that tells the user to work with WAV files instead.
"""

from __future__ import annotations

from typing import Any

from os1.voice.audio import SAMPLE_RATE
from os1.voice.errors import VoiceError

_FILES_HINT = "use --input/--output files instead"


class DevicesUnavailable(VoiceError):
    """No usable microphone or speaker (or no sound library) on this machine."""


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError:
        raise DevicesUnavailable(
            "No microphone/speaker access: the sounddevice package is not installed "
            f"(pip install sounddevice); {_FILES_HINT}"
        ) from None
    except OSError as exc:
        # sounddevice raises OSError at import when the PortAudio shared library is missing.
        raise DevicesUnavailable(
            f"No microphone/speaker access: {exc} (on Debian/Ubuntu: apt-get install "
            f"libportaudio2); {_FILES_HINT}"
        ) from None
    return sounddevice


def _check_device(sd: Any, kind: str, device: int | str | None) -> None:
    what = "microphone" if kind == "input" else "speaker"
    try:
        info = sd.query_devices(device, kind=kind)
    except (ValueError, sd.PortAudioError) as exc:
        raise DevicesUnavailable(f"No {what} found ({exc}); {_FILES_HINT}") from None
    channels = info.get("max_input_channels" if kind == "input" else "max_output_channels", 0)
    if channels < 1:
        raise DevicesUnavailable(
            f"No {what} found: {info.get('name')} has no {kind} channels; " + _FILES_HINT
        )


def open_input_stream(
    sample_rate: int = SAMPLE_RATE, block_samples: int = 512, device: int | str | None = None
) -> Any:
    """An unstarted mono float32 ``sounddevice.InputStream``; use ``with`` and ``read(n)``."""
    sd = _sounddevice()
    _check_device(sd, "input", device)
    try:
        return sd.InputStream(
            samplerate=sample_rate,
            blocksize=block_samples,
            channels=1,
            dtype="float32",
            device=device,
        )
    except sd.PortAudioError as exc:
        raise DevicesUnavailable(
            f"The microphone could not be opened ({exc}); {_FILES_HINT}"
        ) from None


def open_output_stream(sample_rate: int, device: int | str | None = None) -> Any:
    """An unstarted mono float32 ``sounddevice.OutputStream``; use ``with`` and ``write(chunk)``."""
    sd = _sounddevice()
    _check_device(sd, "output", device)
    try:
        return sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", device=device)
    except sd.PortAudioError as exc:
        raise DevicesUnavailable(
            f"The speaker could not be opened ({exc}); {_FILES_HINT}"
        ) from None
