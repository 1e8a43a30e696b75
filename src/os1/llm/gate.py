"""How many generations run at once, who waits, and how waiting is told to the person.

A ``ModelGate`` has ``slots`` places for generations and a bounded queue behind them. A
caller either gets a slot at once, waits in line (FIFO) and is told its place, or, when
the line is full, gets ``ModelBusy`` with how long to wait before trying again: a
saturated model is always said out loud, never a silent timeout.

Waiting can happen on the event loop (``slot``: the server waits there, so a queued turn
holds no thread) or on a thread (``GatedBackend``: every other model call, such as
reflection). A thread that already holds a slot for its turn says so with ``holding``,
so the backend does not queue a second time.

Busy notices reach the person through a listener set per thread (``listening``): the
server sets one around each turn, and both the gate and a backend retrying an overloaded
server (``report``) tell it what is happening.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from os1.domain import Prompt, ToolCall
from os1.llm.base import BackendError, CancelToken, LLMBackend, ToolBackend

QUEUED_MESSAGE = "Many people are talking with me right now; your reply is queued."
RETRYING_MESSAGE = "The model is busy; retrying your reply."
# A queued caller is told its place again this often while it waits.
UPDATE_EVERY_S = 5.0


@dataclass(frozen=True)
class BusyNotice:
    """What a waiting person is told: queued at ``position``, or a retry after a busy
    answer from the model server (``attempt``)."""

    reason: str  # "queued" or "retrying"
    retry_in_s: float
    message: str
    position: int | None = None
    attempt: int | None = None

    def as_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "busy",
            "reason": self.reason,
            "retry_in_s": round(self.retry_in_s, 1),
            "message": self.message,
        }
        if self.position is not None:
            event["position"] = self.position
        if self.attempt is not None:
            event["attempt"] = self.attempt
        return event


class ModelBusy(BackendError):
    """Every slot is taken and the queue is full: try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(
            "Too many people are talking with me right now and the queue is full; "
            f"please try again in {max(1, round(retry_after_s))} s."
        )
        self.retry_after_s = retry_after_s


Listener = Callable[[BusyNotice], None]
_Item = TypeVar("_Item")
_local = threading.local()


@contextlib.contextmanager
def _thread_setting(name: str, value: object) -> Iterator[None]:
    previous = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, previous)


def listening(listener: Listener | None) -> contextlib.AbstractContextManager[None]:
    """Send this thread's busy notices to ``listener`` while inside."""
    return _thread_setting("listener", listener)


def report(notice: BusyNotice) -> None:
    """Tell the person this thread works for (if anyone is listening)."""
    listener: Listener | None = getattr(_local, "listener", None)
    if listener is not None:
        listener(notice)


def holding() -> contextlib.AbstractContextManager[None]:
    """This thread's turn already has a slot: its model calls do not queue again."""
    return _thread_setting("holding", True)


class _Waiter:
    """One caller in line; ``grant`` hands it the slot (from the releasing thread)."""

    def __init__(self, grant: Callable[[], None]) -> None:
        self.grant = grant
        self.abandoned = False


class ModelGate:
    def __init__(self, slots: int, max_waiting: int, typical_s: float = 2.0) -> None:
        if slots < 1 or max_waiting < 0:
            raise ValueError("a model gate needs at least one slot and a queue of 0 or more")
        self.slots = slots
        self.max_waiting = max_waiting
        self._free = slots
        self._waiting: deque[_Waiter] = deque()
        self._lock = threading.Lock()
        # How long a generation usually takes (moving average), to estimate waits.
        self._typical_s = typical_s

    @property
    def waiting(self) -> int:
        with self._lock:
            return sum(not w.abandoned for w in self._waiting)

    @property
    def busy_slots(self) -> int:
        with self._lock:
            return self.slots - self._free

    def estimate_s(self, position: int) -> float:
        """Seconds until the caller at ``position`` (1 = next) gets a slot, roughly."""
        return max(0.5, position * self._typical_s / self.slots)

    def _enter(self, waiter: _Waiter) -> int:
        """0 if a slot was free (now taken), else the caller's place in line."""
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return 0
            self._waiting = deque(w for w in self._waiting if not w.abandoned)
            if len(self._waiting) >= self.max_waiting:
                raise ModelBusy(self.estimate_s(len(self._waiting) + 1))
            self._waiting.append(waiter)
            return len(self._waiting)

    def _position(self, waiter: _Waiter) -> int:
        with self._lock:
            live = [w for w in self._waiting if not w.abandoned]
            return live.index(waiter) + 1 if waiter in live else 0

    def release(self, took_s: float | None = None) -> None:
        with self._lock:
            if took_s is not None:
                self._typical_s = 0.8 * self._typical_s + 0.2 * took_s
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.abandoned:
                    waiter.grant()  # the slot passes straight to the next in line
                    return
            self._free += 1

    def _abandon(self, waiter: _Waiter, granted: bool) -> None:
        """A waiter gave up; a slot it was handed meanwhile goes to the next one."""
        with self._lock:
            waiter.abandoned = True
        if granted:
            self.release()

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: Listener | None = None) -> AsyncIterator[None]:
        """Hold a slot for the body, waiting on the event loop if need be."""
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()

        def grant() -> None:
            loop.call_soon_threadsafe(_resolve, granted)

        waiter = _Waiter(grant)
        position = self._enter(waiter)
        if position:
            try:
                while True:
                    if on_wait is not None:
                        on_wait(self._queued(position))
                    try:
                        await asyncio.wait_for(asyncio.shield(granted), UPDATE_EVERY_S)
                        break
                    except TimeoutError:
                        position = self._position(waiter) or 1
            except BaseException:
                self._abandon(waiter, granted.done() and not granted.cancelled())
                raise
        began = time.monotonic()
        try:
            yield
        finally:
            self.release(time.monotonic() - began)

    @contextlib.contextmanager
    def hold(self, cancel: CancelToken | None = None) -> Iterator[None]:
        """Hold a slot for the body, waiting on this thread if need be."""
        event = threading.Event()
        waiter = _Waiter(event.set)
        position = self._enter(waiter)
        if position:
            report(self._queued(position))
            while not event.wait(0.25):
                if cancel is not None and cancel.cancelled:
                    self._abandon(waiter, event.is_set())
                    raise BackendError("stopped while waiting for the model")
        began = time.monotonic()
        try:
            yield
        finally:
            self.release(time.monotonic() - began)

    def _queued(self, position: int) -> BusyNotice:
        return BusyNotice("queued", self.estimate_s(position), QUEUED_MESSAGE, position=position)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class GatedBackend:
    """A backend whose generations go through a ``ModelGate`` (unless the calling thread's
    turn holds a slot already).

    ``GatedBackend(inner, gate)`` is a ``GatedToolBackend`` when ``inner`` is a
    ``ToolBackend``, so ``isinstance(gated, ToolBackend)`` tells callers the truth about
    the model behind the gate without their knowing there is a gate.
    """

    def __new__(cls, inner: LLMBackend, gate: ModelGate) -> GatedBackend:
        if cls is GatedBackend and isinstance(inner, ToolBackend):
            cls = GatedToolBackend
        return super().__new__(cls)

    def __init__(self, inner: LLMBackend, gate: ModelGate) -> None:
        self.inner = inner
        self.gate = gate
        self.name = inner.name
        self.context_window = inner.context_window

    def load(self) -> None:
        """Load the model behind the gate now (see ``base.preload``); takes no slot."""
        load = getattr(self.inner, "load", None)
        if callable(load):
            load()

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        if getattr(_local, "holding", False):
            return self.inner.stream(prompt, cancel)
        return self._gated(self.inner.stream, prompt, cancel)

    def _gated(
        self,
        generate: Callable[[Prompt, CancelToken | None], Iterator[_Item]],
        prompt: Prompt,
        cancel: CancelToken | None,
    ) -> Iterator[_Item]:
        with self.gate.hold(cancel):
            items = generate(prompt, cancel)
            try:
                yield from items
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def close(self) -> None:
        self.inner.close()


class GatedToolBackend(GatedBackend):
    """A gated backend whose model can call tools: ``stream_tools`` takes a slot just as
    ``stream`` does."""

    inner: ToolBackend

    def stream_tools(
        self, prompt: Prompt, cancel: CancelToken | None = None
    ) -> Iterator[str | ToolCall]:
        if getattr(_local, "holding", False):
            return self.inner.stream_tools(prompt, cancel)
        return self._gated(self.inner.stream_tools, prompt, cancel)
