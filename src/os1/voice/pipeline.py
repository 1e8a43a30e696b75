"""Processors and the chain that joins them.

A processor takes one frame and returns the frames that follow from it, passing on those
it does not handle, so small processors compose into a pipeline and a test can feed
frames to any of them and assert on what comes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from os1.voice.frames import Frame


class Processor(Protocol):
    def process(self, frame: Frame) -> Iterable[Frame]:
        """The frames that follow from ``frame`` (including ``frame`` itself, to pass it on)."""


class Pipeline:
    """Processors in order; each one's output frames are the next one's input."""

    def __init__(self, processors: Sequence[Processor]) -> None:
        self.processors = list(processors)

    def push(self, frame: Frame) -> list[Frame]:
        frames = [frame]
        for processor in self.processors:
            frames = [out for f in frames for out in processor.process(f)]
        return frames

    def run(self, frames: Iterable[Frame]) -> list[Frame]:
        """Push every frame; everything that came out, in order (the test harness)."""
        return [out for frame in frames for out in self.push(frame)]
