"""Backends are plugins: each is a factory taking the typed ``[model]`` options
(``os1.options.ModelOptions``) and returning an LLMBackend.

Built-ins register here; other packages add theirs under the ``os1.backends`` entry point.
A plugin's factory is called with ``ModelOptions``: every ``model.*`` setting, already cast
and range-checked (``model.name``, ``model.url``, ``model.context_window``…), so a plugin
never reads the raw settings. The built-in backends take only their own part of it
(``EmbeddedOptions``, ``OpenAIOptions``), which their factories here pick out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import entry_points

from os1.llm.base import BackendUnavailable, LLMBackend
from os1.llm.openai_compat import list_ollama_models
from os1.options import ModelOptions

Factory = Callable[[ModelOptions], LLMBackend]

_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    _FACTORIES[name] = factory


def _embedded(model: ModelOptions) -> LLMBackend:
    from os1.llm import embedded

    return embedded.create(model.embedded)


def _openai(model: ModelOptions) -> LLMBackend:
    from os1.llm import openai_compat

    return openai_compat.create(model.openai)


def _bench(model: ModelOptions) -> LLMBackend:
    # Scripted words at a fixed pace, for load benchmarks and tests: not a model.
    from os1.llm import scripted

    return scripted.create(model.name)


_BUILTINS: dict[str, Factory] = {"embedded": _embedded, "openai": _openai, "bench": _bench}


def factory_for(name: str) -> Factory:
    if name in _FACTORIES:
        return _FACTORIES[name]
    if name in _BUILTINS:
        return _BUILTINS[name]
    for point in entry_points(group="os1.backends"):
        if point.name == name:
            loaded: Factory = point.load()
            return loaded
    raise BackendUnavailable(
        f"No model backend called {name!r}. Use embedded or openai: os1 model use embedded"
    )


def create_backend(model: ModelOptions) -> LLMBackend:
    """``model.backend``'s backend. ``auto``: a local Ollama if one answers (the wanted
    ``model.name`` if it serves it, else its first model), else the embedded model."""
    name = model.backend
    if name == "auto":
        models = list_ollama_models(model.ollama_url)
        if models:
            chosen = model.name if model.name in models else models[0]
            ollama = replace(
                model.openai, base_url=model.ollama_url.rstrip("/") + "/v1", model=chosen
            )
            return factory_for("openai")(replace(model, name=chosen, openai=ollama))
        name = "embedded"
    return factory_for(name)(model)
