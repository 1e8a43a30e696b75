"""Errors raised by the voice engines."""

from __future__ import annotations


class VoiceError(Exception):
    """Something in the voice layer failed; the message says what and how to fix it."""


class EngineUnavailable(VoiceError):
    """A speech engine's package, binary or model is not installed."""
