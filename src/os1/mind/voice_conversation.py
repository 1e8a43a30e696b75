"""A spoken conversation: the listening pipeline, the turn's reply, and barge-in.

Input audio is pushed through ``hear`` (from a microphone thread, a WebSocket or a file).
When a turn ends, the reply runs on its own threads: the model's tokens are cut into
phrases, a voice worker synthesises each phrase, and playback plays them in short blocks.
If the user starts speaking while OS1 talks, playback stops within a block, generation is
cancelled, and only what was heard is stored as the reply. The turn itself is run by
``os1.mind.turn.TurnRunner``, like every face's: this module only voices its events and
tells it, through ``deliver``, what was heard.

When the user pauses, the reply begins at once on what was heard (``os1.mind.speculation``):
first on the live transcript, then on the final pass's words once it is done. If the pause
turns out to end the turn with those words, the reply carries on from there; if the user
goes on speaking, it is dropped unseen.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

from os1.domain import TurnStatus
from os1.llm.base import CancelToken
from os1.mind.events import Done, Event, Generated, NoticeDue, Token
from os1.mind.first_phrase import FirstPhrase
from os1.mind.speculation import Speculation
from os1.mind.turn import TurnRunner
from os1.voice.frames import (
    AudioIn,
    FinalTranscript,
    Frame,
    Interrupted,
    ReplyAudio,
    ReplyText,
    SpeechStarted,
    SpeechStopped,
    SpokenTurn,
)
from os1.voice.listening import SpeechDetector, Transcriber, TurnDetector, TurnEndPolicy
from os1.voice.pipeline import Pipeline
from os1.voice.speaking import AudioSink, PhraseChunker, Playback
from os1.voice.stt import Recognizer
from os1.voice.tts import Synthesizer
from os1.voice.vad import VoiceActivityDetector

logger = logging.getLogger(__name__)


class _Reply:
    """One reply in flight, and the threads that voice and play it."""

    def __init__(self, final: FinalTranscript, ended_at: float, sink: AudioSink) -> None:
        self.final = final
        self.ended_at = ended_at  # wall clock when the turn's end was detected
        self.cancel = CancelToken()
        self.playback = Playback(sink)
        self.turn = SpokenTurn(final.text)
        self.done = threading.Event()
        self.detected_at: float | None = None
        self.pause = 0  # the pause that ended this turn (see VoiceConversation._pause)
        self.first_phrase: FirstPhrase | None = None  # voiced ahead, in the pause

    def since_end(self) -> float:
        return time.perf_counter() - self.ended_at


class VoiceConversation:
    def __init__(
        self,
        turns: TurnRunner,
        recognizer: Recognizer,
        vad: VoiceActivityDetector,
        synthesizer: Synthesizer,
        sink: AudioSink,
        policy: TurnEndPolicy | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        self.turns = turns
        self.synthesizer = synthesizer
        self.sink = sink
        self.transcriber = Transcriber(recognizer)
        self.turn_detector = TurnDetector(self.transcriber, policy)
        self.listening = Pipeline([SpeechDetector(vad), self.transcriber, self.turn_detector])
        self.on_frame = on_frame or (lambda frame: None)
        self.finished: queue.Queue[SpokenTurn] = queue.Queue()
        self._reply: _Reply | None = None
        self._lock = threading.Lock()
        # Each pause in the user's speech gets a number; a reply begun in a pause
        # (``_ahead``, by the thread ``_speculating``) belongs to it, and is dropped when
        # speech resumes.
        self._pause = 0
        self._ahead: Speculation | None = None
        self._first_phrase: FirstPhrase | None = None
        self._speculating: tuple[int, threading.Thread] | None = None
        # The store is used by one thread at a time: a reply holds this from its turn's
        # start to the end of the indexing after it; a reply begun in a pause, while it
        # builds its prompt.
        self._store_lock = threading.Lock()
        # From the user's first word of a turn to its end: no notice is said over them.
        self._in_turn = False

    @property
    def speaking(self) -> bool:
        reply = self._reply
        return reply is not None and not reply.done.is_set()

    # --- input ------------------------------------------------------------------

    def hear(self, frame: AudioIn) -> list[Frame]:
        """Push input audio; returns the listening frames it produced."""
        # A turn ending in this block ended as it arrived: timings count from here, so
        # the final transcript's decoding is measured, not hidden.
        arrived = time.perf_counter()
        frames = self.listening.push(frame)
        for out in frames:
            if not isinstance(out, AudioIn):
                self.on_frame(out)
            if isinstance(out, SpeechStarted):
                self._in_turn = True
            elif isinstance(out, FinalTranscript):
                self._in_turn = False
            if isinstance(out, SpeechStarted) and self.speaking:
                self.barge_in(out.at)
            elif isinstance(out, SpeechStarted):
                self._drop_ahead()
            elif isinstance(out, SpeechStopped) and not self.speaking:
                self._speculate()
            elif isinstance(out, FinalTranscript):
                self._start_reply(out, arrived)
        return frames

    def end_of_input(self, at: float) -> list[Frame]:
        """The input ended (a file, a closed socket): a turn still open ends now."""
        arrived = time.perf_counter()
        frames = self.turn_detector.end_turn(at)
        self._in_turn = False
        for out in frames:
            self.on_frame(out)
            if isinstance(out, FinalTranscript):
                self._start_reply(out, arrived)
        return frames

    def say(self, text: str, at: float) -> None:
        """A typed message within a voice session (the protocol's ``text`` command): the
        turn ends now, and the reply is spoken like any other."""
        if text.strip():
            self._start_reply(FinalTranscript(text.strip(), at, at), time.perf_counter())

    def barge_in(self, at: float) -> None:
        """The user spoke over the reply: stop playback now and cancel the rest."""
        with self._lock:
            reply = self._reply
        if reply is None or reply.done.is_set():
            return
        reply.detected_at = time.perf_counter()
        reply.playback.stop()
        with self._lock:  # the reply may be swapping in the cancel token of a speculation
            reply.cancel.cancel()
        stop = getattr(self.sink, "stop", None)
        if callable(stop):
            stop()

    def wait(self, timeout: float | None = None) -> SpokenTurn | None:
        """The next finished exchange, or None if none finished within ``timeout``."""
        try:
            return self.finished.get(timeout=timeout)
        except queue.Empty:
            return None

    # --- the reply --------------------------------------------------------------

    def close(self) -> None:
        """Drop any reply begun in a pause, and wait until every thread has let go of the
        store (a reply's indexing, a reply begun in a pause)."""
        ahead = self._drop_ahead()
        if ahead is not None:
            ahead.store_free.wait()
        # Bounded: a reply stuck in its model call must not hold up closing forever.
        if self._store_lock.acquire(timeout=60):
            self._store_lock.release()

    def _speculate(self) -> None:
        """The user paused: begin the reply now (see ``os1.mind.speculation``)."""
        with self._lock:
            self._pause += 1
            pause = self._pause
        partial = self.turn_detector.partial
        thread = threading.Thread(
            target=self._speculate_in_pause, args=(pause, partial), daemon=True
        )
        self._speculating = (pause, thread)
        thread.start()

    def _speculate_in_pause(self, pause: int, partial: str) -> None:
        """On the final words if the recognizer has them already; else first on what the
        live pass heard, then, once the final pass (started in the pause) is done, on its
        words if they differ. Whisper's live words are another engine's (PocketSphinx,
        ~48% WER) and its final ones come within the pause: a reply begun on the live
        words would almost never be kept, and would take CPU from the decoding."""
        try:
            final = self.transcriber.early_result(wait=False)
            if final:
                self._begin_ahead(pause, final)
                return
            if partial and not getattr(self.transcriber.recognizer, "final_words_soon", False):
                self._begin_ahead(pause, partial)
            final = self.transcriber.early_result()
            if final:
                self._begin_ahead(pause, final)
        except Exception:  # only a head start: the reply itself reports any failure
            logger.debug("beginning a reply early failed", exc_info=True)

    def _begin_ahead(self, pause: int, text: str) -> None:
        with self._lock:
            current = self._ahead
            if pause != self._pause or (current is not None and current.matches(text)):
                return
        if current is not None:
            current.abandon()
            current.store_free.wait()
        with self._store_lock:  # not while the last reply is still being indexed
            with self._lock:
                if pause != self._pause:
                    return  # speech resumed, or the turn ended, meanwhile
            ahead = self.turns.speculate(text)
            ahead.store_free.wait()
        first_phrase = FirstPhrase(ahead, self.synthesizer)
        with self._lock:
            if pause == self._pause:
                self._ahead, self._first_phrase = ahead, first_phrase
                return
        ahead.abandon()  # speech resumed meanwhile

    def _drop_ahead(self) -> Speculation | None:
        with self._lock:
            self._pause += 1
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.abandon()
        return ahead

    def _take_ahead(self, reply: _Reply) -> Speculation | None:
        """The reply begun in the pause that ended this turn, if it answers these words;
        the turn's cancel token becomes its token."""
        speculating = self._speculating
        if speculating is not None and speculating[0] == reply.pause:
            speculating[1].join()  # it may be about to begin on the final pass's words
        with self._lock:
            ahead, self._ahead = self._ahead, None
            same_pause = reply.pause == self._pause
            self._pause += 1  # nothing more is begun for the pause that ended this turn
            if ahead is None or not (same_pause and ahead.matches(reply.final.text)):
                if ahead is not None:
                    ahead.abandon()
                return ahead  # the turn waits until it has let go of the store
            if reply.cancel.cancelled:
                ahead.abandon()
            reply.cancel = ahead.cancel
            reply.turn.begun_early = True
            first_phrase = self._first_phrase
            if first_phrase is not None and first_phrase.ahead is ahead:
                reply.first_phrase = first_phrase
            return ahead

    def _start_reply(self, final: FinalTranscript, ended_at: float) -> None:
        previous = self._reply
        if previous is not None and not previous.done.is_set():
            self.barge_in(final.at)
            previous.done.wait()
        reply = _Reply(final, ended_at, self.sink)
        reply.pause = self._pause
        reply.turn.timings.end_silence_s = round(final.at - final.speech_end_at, 3)
        with self._lock:
            self._reply = reply
        threading.Thread(target=self._run_reply, args=(reply,), daemon=True).start()

    def _run_reply(self, reply: _Reply) -> None:
        timings = reply.turn.timings
        timings.final_transcript_s = round(reply.since_end(), 3)
        phrases: queue.Queue[str | NoticeDue | None] = queue.Queue()
        voice = threading.Thread(target=self._voice, args=(reply, phrases), daemon=True)
        voice.start()

        def deliver(generated: str, status: TurnStatus) -> tuple[str, TurnStatus, dict[str, float]]:
            phrases.put(None)
            voice.join()  # playback is over: what was heard is known
            return self._heard(reply, generated, status)

        try:
            ahead = self._take_ahead(reply)
            with self._store_lock:
                events = self.turns.run(
                    reply.final.text, reply.cancel, ahead=ahead, deliver=deliver
                )
                try:
                    self._follow(reply, events, phrases)
                finally:
                    events.close()
        except Exception as exc:  # any failure must still end the turn, and is reported
            reply.turn.error = str(exc) or type(exc).__name__
        finally:
            phrases.put(None)
            voice.join()
            reply.done.set()
            # After the indexing: a turn reported is one memory search finds.
            self.finished.put(reply.turn)

    def _follow(
        self, reply: _Reply, events: Iterable[Event], phrases: queue.Queue[str | NoticeDue | None]
    ) -> None:
        """Voice the turn's events: notices first, then the reply phrase by phrase; after
        a barge-in nothing more is voiced. The turn's ``Done`` ends the reply (the user
        may speak again); the indexing after it runs on this thread."""
        timings = reply.turn.timings
        chunker = PhraseChunker()
        for event in events:
            if isinstance(event, NoticeDue):
                phrases.put(event)
            elif isinstance(event, Token) and not reply.cancel.cancelled:
                if timings.first_token_s is None:
                    timings.first_token_s = round(reply.since_end(), 3)
                for phrase in chunker.feed(event.text):
                    self._phrase(reply, phrase, phrases)
            elif isinstance(event, Generated) and not reply.cancel.cancelled:
                for phrase in chunker.flush():
                    self._phrase(reply, phrase, phrases)
            elif isinstance(event, Done):
                reply.turn.reply_turn_id = event.turn_id
                reply.done.set()

    def _phrase(
        self, reply: _Reply, phrase: str, phrases: queue.Queue[str | NoticeDue | None]
    ) -> None:
        if reply.turn.timings.first_phrase_s is None:
            reply.turn.timings.first_phrase_s = round(reply.since_end(), 3)
        self.on_frame(ReplyText(phrase))
        phrases.put(phrase)

    def _voice(self, reply: _Reply, phrases: queue.Queue[str | NoticeDue | None]) -> None:
        """Synthesise phrases in order and play each as soon as it is ready."""
        while (phrase := phrases.get()) is not None:
            if reply.playback.stopped or reply.turn.error:
                continue
            try:
                if isinstance(phrase, NoticeDue):
                    self.announce(phrase.text)
                else:
                    self._say(reply, phrase)
            except Exception as exc:  # reported on the turn; generation stops
                reply.turn.error = f"speech synthesis failed: {exc}"
                reply.cancel.cancel()

    def due_notices(self) -> list[NoticeDue]:
        """What fell due (``TurnRunner.due_notices``), asked between turns: nothing while a
        reply or a reply begun in a pause uses the store, or while the user is speaking
        (ask again a little later)."""
        if self.speaking or self._in_turn or not self._store_lock.acquire(blocking=False):
            return []
        try:
            return self.turns.due_notices()
        finally:
            self._store_lock.release()

    def announce(self, text: str) -> None:
        """Say something that is not a reply (a reminder that fell due): it is played
        whole, and is not part of what the reply is stored with."""
        self.on_frame(ReplyText(text))
        playback = Playback(self.sink)
        for samples in self.synthesizer.synthesize(text):
            audio = ReplyAudio(samples, self.synthesizer.sample_rate, text)
            self.on_frame(audio)
            if not playback.play(audio):
                break

    def _say(self, reply: _Reply, phrase: str) -> None:
        voiced = reply.first_phrase.audio_for(phrase) if reply.first_phrase else None
        reply.first_phrase = None  # only ever the first phrase
        for samples in voiced if voiced is not None else self.synthesizer.synthesize(phrase):
            if reply.playback.stopped:
                break
            audio = ReplyAudio(samples, self.synthesizer.sample_rate, phrase)
            self.on_frame(audio)
            if not reply.playback.play(audio):
                break
            if reply.turn.timings.first_audio_s is None and reply.playback.first_audio_at:
                reply.turn.timings.first_audio_s = round(
                    reply.playback.first_audio_at - reply.ended_at, 3
                )

    def _heard(
        self, reply: _Reply, generated: str, status: TurnStatus
    ) -> tuple[str, TurnStatus, dict[str, float]]:
        """What to store as the reply, once playback is over: what was heard, and its
        status; ``status`` is the turn's (FAILED when generating failed)."""
        turn = reply.turn
        if status is TurnStatus.FAILED and not turn.error:
            turn.error = "the reply failed"  # the turn's error replaces this when raised
        turn.generated = generated
        turn.interrupted = reply.playback.stopped
        turn.spoken = reply.playback.spoken() if turn.interrupted else generated
        if turn.interrupted and reply.detected_at is not None:
            halted = reply.playback.halted_at or reply.detected_at
            turn.bargein_stop_s = max(0.0, halted - reply.detected_at)
            self.on_frame(Interrupted(reply.final.at, turn.spoken))
        if turn.error and not turn.interrupted:
            # Whatever was heard before the failure is what OS1 said.
            turn.spoken = reply.playback.spoken()
        stored = TurnStatus.INTERRUPTED if turn.interrupted else TurnStatus.COMPLETE
        if turn.error:
            stored = TurnStatus.FAILED if not turn.spoken else TurnStatus.INTERRUPTED
        elif not turn.interrupted:
            stored = status
        stages = {k: v for k, v in turn.timings.as_dict().items() if v is not None}
        return turn.spoken, stored, stages
