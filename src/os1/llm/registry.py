"""Backends are plugins: each is a factory taking ``Settings`` and returning an LLMBackend.

Built-ins register here; other packages add theirs under the ``os1.backends`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from os1.config import Settings
from os1.llm.base import BackendUnavailable, LLMBackend
from os1.llm.openai_compat import list_ollama_models

Factory = Callable[[Any], LLMBackend]

_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    _FACTORIES[name] = factory


def _builtin(name: str) -> Factory | None:
    if name == "embedded":
        from os1.llm import embedded

        return embedded.create
    if name == "openai":
        from os1.llm import openai_compat

        return openai_compat.create
    if name == "bench":
        # Scripted words at a fixed pace, for load benchmarks and tests: not a model.
        from os1.llm import scripted

        return scripted.create
    return None


def factory_for(name: str) -> Factory:
    if name in _FACTORIES:
        return _FACTORIES[name]
    builtin = _builtin(name)
    if builtin is not None:
        return builtin
    for point in entry_points(group="os1.backends"):
        if point.name == name:
            loaded: Factory = point.load()
            return loaded
    raise BackendUnavailable(
        f"No model backend called {name!r}. Use embedded or openai: os1 model use embedded"
    )


class _OllamaSettings:
    """Settings as seen by the HTTP backend when auto-detection picked a local Ollama."""

    def __init__(self, settings: Settings, model: str) -> None:
        self._settings = settings
        self._model = model

    def get(self, dotted: str) -> Any:
        if dotted == "model.url":
            return str(self._settings.get("model.ollama_url")).rstrip("/") + "/v1"
        if dotted == "model.name":
            return self._model
        return self._settings.get(dotted)


def create_backend(settings: Settings) -> LLMBackend:
    name = str(settings.get("model.backend"))
    if name == "auto":
        wanted = str(settings.get("model.name"))
        models = list_ollama_models(str(settings.get("model.ollama_url")))
        if models:
            model = wanted if wanted in models else models[0]
            return factory_for("openai")(_OllamaSettings(settings, model))
        name = "embedded"
    return factory_for(name)(settings)
