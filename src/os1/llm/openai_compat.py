"""Any OpenAI-compatible HTTP server: Ollama, llama.cpp server, vLLM, LM Studio, OpenAI.

Instruction-tuned models read ``Prompt.chat``. Replies are streamed over server-sent
events; ``stream_tools`` also offers ``Prompt.tools`` and yields the model's tool calls
(the wire format is in ``openai_wire``). Every network wait has a timeout, so an
unreachable server is reported, never waited on forever. The HTTP transport is injectable
so tests can swap it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx

from os1.domain import Prompt, ToolCall
from os1.llm.base import (
    BackendError,
    BackendUnavailable,
    CancelToken,
    estimate_tokens,
    until_stop,
    until_stop_tools,
)
from os1.llm.gate import RETRYING_MESSAGE, BusyNotice, report
from os1.llm.openai_wire import chat_body, reply_items
from os1.options import OpenAIOptions

CONNECT_TIMEOUT_S = 3.0
# Answers that mean "busy now, fine later": retried with backoff before the first token.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
LONGEST_RETRY_AFTER_S = 30.0


class TransientError(BackendError):
    """The server is overloaded or the connection dropped; trying again may work."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OpenAICompatBackend:
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        context_window: int = 8192,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model:
            raise BackendUnavailable(
                f"No model name is set for {base_url}. Choose one: os1 model list, "
                "then os1 model use ollama:NAME or os1 config set model.name NAME"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.context_window = context_window
        self.retry_delays_s = retry_delays_s
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S),
            transport=transport,
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        body = chat_body(self.model, prompt, tools=False)
        return until_stop(_text_only(self._items(body, cancel)), prompt.stop)

    def stream_tools(
        self, prompt: Prompt, cancel: CancelToken | None = None
    ) -> Iterator[str | ToolCall]:
        body = chat_body(self.model, prompt, tools=True)
        return until_stop_tools(self._items(body, cancel), prompt.stop)

    def _items(
        self, body: dict[str, object], cancel: CancelToken | None
    ) -> Iterator[str | ToolCall]:
        """The reply's pieces and tool calls; a busy answer (429, 503…) or a dropped
        connection before the first one is retried with backoff, and each retry is
        reported as busy."""
        attempt = 0
        while True:
            started = False
            try:
                for item in self._attempt(body, cancel):
                    started = True
                    yield item
                return
            except TransientError as exc:
                if started or attempt >= len(self.retry_delays_s):
                    raise BackendError(str(exc)) from None
                delay = self.retry_delays_s[attempt]
                if exc.retry_after_s is not None:
                    delay = min(max(delay, exc.retry_after_s), LONGEST_RETRY_AFTER_S)
                attempt += 1
                report(BusyNotice("retrying", delay, RETRYING_MESSAGE, attempt=attempt))
                self._sleep(delay)
                if cancel is not None and cancel.cancelled:
                    return

    def _attempt(
        self, body: dict[str, object], cancel: CancelToken | None
    ) -> Iterator[str | ToolCall]:
        url = f"{self.base_url}/chat/completions"
        try:
            with self._client.stream("POST", url, json=body) as response:
                _raise_for_status(response, self.base_url, self.model)
                for item in reply_items(response):
                    if cancel is not None and cancel.cancelled:
                        return
                    yield item
        except httpx.ConnectError:
            raise BackendUnavailable(_unreachable(self.base_url)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # A reset or a connection closed mid-answer: an overloaded or restarting server.
            raise TransientError(f"The connection to {self.base_url} dropped: {exc}") from None
        except httpx.TimeoutException:
            raise BackendUnavailable(
                f"The model server at {self.base_url} did not answer in time. Is it "
                "overloaded? Raise model.timeout_s, or switch: os1 model use embedded"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(f"Talking to {self.base_url} failed: {exc}") from None

    def close(self) -> None:
        self._client.close()


def _unreachable(base_url: str) -> str:
    return (
        f"Cannot reach the model server at {base_url}. Start it (for Ollama: ollama serve), "
        "fix the address (os1 config set model.url URL), or use the built-in model: "
        "os1 model use embedded"
    )


def _raise_for_status(response: httpx.Response, base_url: str, model: str) -> None:
    if response.status_code < 400:
        return
    response.read()
    detail = response.text[:300]
    if response.status_code in (401, 403):
        raise BackendError(
            f"{base_url} refused the API key ({response.status_code}). "
            "Set one: os1 config set model.api_key KEY"
        )
    if response.status_code == 404:
        raise BackendError(
            f"{base_url} has no model {model!r} (404: {detail}). See what it has: os1 model list"
        )
    if response.status_code in TRANSIENT_STATUSES:
        raise TransientError(
            f"{base_url} is busy ({response.status_code}: {detail})",
            _retry_after(response.headers.get("retry-after")),
        )
    raise BackendError(f"{base_url} answered {response.status_code}: {detail}")


def _retry_after(header: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare from model servers: ignored)."""
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _text_only(items: Iterator[str | ToolCall]) -> Iterator[str]:
    """Plain ``stream`` offers no tools; a call a server sends anyway has nowhere to go."""
    try:
        for item in items:
            if isinstance(item, str):
                yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def list_ollama_models(ollama_url: str, timeout_s: float = 0.3) -> list[str]:
    """Names of the models a local Ollama serves, or [] when none answers."""
    try:
        response = httpx.get(f"{ollama_url.rstrip('/')}/api/tags", timeout=timeout_s)
        response.raise_for_status()
        models = response.json().get("models", [])
        return [str(m["name"]) for m in models if isinstance(m, dict) and "name" in m]
    except (httpx.HTTPError, ValueError, KeyError):
        return []


def list_models(base_url: str, api_key: str = "", timeout_s: float = 10.0) -> list[str]:
    """The models an OpenAI-compatible server at ``base_url`` serves (``GET /models``);
    BackendError saying what went wrong, with the URL, when it cannot tell."""
    url = f"{base_url.rstrip('/')}/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.ConnectError:
        raise BackendUnavailable(
            f"Nothing answers at {base_url} (connection refused or no such host). "
            "Is the server running, and is this its address?"
        ) from None
    except httpx.TimeoutException:
        raise BackendUnavailable(f"{url} did not answer within {timeout_s:g} s.") from None
    except httpx.HTTPError as exc:  # a malformed URL, an unsupported scheme, a reset
        raise BackendUnavailable(f"Cannot ask {url}: {exc}") from None
    if response.status_code in (401, 403):
        raise BackendError(f"{url} refused the API key ({response.status_code}). Give one.")
    if response.status_code >= 400:
        raise BackendError(
            f"{url} answered {response.status_code}: {response.text[:200]!r}. An "
            "OpenAI-compatible server's base URL usually ends in /v1."
        )
    try:
        listed = response.json().get("data")
        names = [str(m["id"]) for m in listed if isinstance(m, dict) and "id" in m]
    except (ValueError, AttributeError, TypeError):
        raise BackendError(
            f"{url} did not answer as an OpenAI-compatible server does (a JSON list of "
            f"models); it said: {response.text[:200]!r}"
        ) from None
    return names


def create(options: OpenAIOptions) -> OpenAICompatBackend:
    return OpenAICompatBackend(
        base_url=options.base_url,
        model=options.model,
        api_key=options.api_key,
        context_window=options.context_window,
        timeout_s=options.timeout_s,
    )
