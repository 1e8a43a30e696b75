"""Commands for looking after OS1: config, model, persona."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from os1 import config, options
from os1.cli.common import console, friendly_errors, print_json, runtime
from os1.domain import Persona
from os1.llm import pull as pulling
from os1.llm.base import BackendError
from os1.llm.embedded import BUNDLED_MODEL_FILE
from os1.llm.openai_compat import list_models, list_ollama_models
from os1.mind.templates import counted
from os1.options import ModelOptions


@click.group("config")
def config_group() -> None:
    """Show or change settings (config.toml plus OS1_* variables)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def config_show(as_json: bool) -> None:
    """Every setting, its value, and where the value came from."""
    settings = config.load()
    if as_json:
        print_json({"home": str(settings.home), "values": settings.values})
        return
    table = Table(title=f"OS1 settings ({config.config_path()})", title_justify="left")
    for column in ("setting", "value", "from", "meaning"):
        table.add_column(column)
    # The settings as they are, uncast: this command shows them, it does not use them.
    for section, values in settings.values.items():
        for key, value in values.items():
            dotted = f"{section}.{key}"
            shown = "••••" if key == "api_key" and value else repr(value)
            table.add_row(dotted, shown, settings.sources[dotted], config.SCHEMA[section][key].help)
    console.print(table)


# A VALUE such as -3 is a value, not an unknown option: it reaches the range check.
@config_group.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@friendly_errors
def config_set(key: str, value: str) -> None:
    """Set KEY (section.name) to VALUE in config.toml."""
    stored = options.save({key: value})[key]
    console.print(f"{key} = {stored!r}")


@click.group("model")
def model_group() -> None:
    """List, choose or download language models."""


@model_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def model_list(ctx: click.Context, as_json: bool) -> None:
    """Models OS1 can use: bundled, downloaded, and those of a local Ollama."""
    model = runtime(ctx).options.model
    rows = [("embedded", "bundled Gemma 3 270M (base model, offline)")]
    rows += [
        (f"file:{p.name}", f"downloaded GGUF, {p.stat().st_size / 1e6:.0f} MB")
        for p in pulling.list_local(model.embedded.models_dir)
        if p.name != BUNDLED_MODEL_FILE
    ]
    rows += [(f"ollama:{name}", "local Ollama") for name in list_ollama_models(model.ollama_url)]
    current = _current(model)
    if as_json:
        print_json({"current": current, "models": [{"id": r[0], "about": r[1]} for r in rows]})
        return
    table = Table(title_justify="left", title=f"In use: {current}")
    table.add_column("model")
    table.add_column("what it is")
    for model_id, about in rows:
        table.add_row(model_id, about)
    console.print(table)


def _current(model: ModelOptions) -> str:
    if model.backend == "openai":
        return f"{model.name} at {model.openai.base_url}"
    if model.backend == "embedded" and model.embedded.path is not None:
        return f"file:{model.embedded.path}"
    return model.backend


@model_group.command("use")
@click.argument("model")
@click.option("--url", help="Base URL of an OpenAI-compatible server, e.g. http://host:8000/v1")
@click.option(
    "--name",
    help="The model's name on that server; if not given and it serves one model, that one.",
)
@click.option("--api-key", help="The server's API key, if it needs one (kept in config.toml).")
@click.option(
    "--no-check",
    is_flag=True,
    help="Save without asking the server first (it is not running yet).",
)
@friendly_errors
def model_use(
    model: str, url: str | None, name: str | None, api_key: str | None, no_check: bool
) -> None:
    """Use MODEL: embedded, auto, file:NAME.gguf, a .gguf path, ollama:NAME, openai (the
    server given with --url, the model with --name), or a model's name on the server
    given with --url.

    A server is asked first whether it answers and serves the model; nothing is saved
    when it does not."""
    settings = config.load()
    if model in ("embedded", "auto"):
        if url or api_key or (name and model == "embedded"):
            raise config.ConfigError(f"{model} takes no --url, --api-key or --name.")
        # What was for a server no longer applies (auto keeps --name: the Ollama model
        # it prefers when one answers).
        updates: dict[str, str | None] = {"model.backend": model, "model.path": None}
        updates |= {"model.url": None, "model.name": name or None, "model.api_key": None}
        options.save(updates)
        about = "the bundled Gemma 3 270M"
        if model == "auto":
            about = "a local Ollama if one answers, else the bundled Gemma 3 270M"
        console.print(f"Now using {model}: {about}.{_cleared(settings, updates)}")
        return
    if model.startswith("file:") or model.endswith(".gguf"):
        if url or name or api_key:
            raise config.ConfigError("A GGUF file takes no --url, --name or --api-key.")
        stored = _gguf(model, settings.models_dir, check=not no_check)
        updates = {"model.backend": "embedded", "model.path": stored}
        updates |= {"model.url": None, "model.name": None, "model.api_key": None}
        options.save(updates)
        console.print(f"Now using {stored} on the embedded backend.{_cleared(settings, updates)}")
        return
    if model.startswith("ollama:"):
        if url:
            raise config.ConfigError("ollama:NAME takes no --url (it is model.ollama_url).")
        url = str(settings.get("model.ollama_url")).rstrip("/") + "/v1"
        name = _one_name(model.removeprefix("ollama:"), name)
    elif model == "openai":
        url = url or str(settings.get("model.url"))
    elif url:
        name = _one_name(model, name)
    else:
        raise config.ConfigError(
            f"Don't know how to use {model!r}. See: os1 model list, or give a server: "
            "os1 model use openai --url URL [--name MODEL]"
        )
    _use_server(settings, url, name, api_key, no_check)


def _one_name(given: str, name: str | None) -> str:
    if name and name != given:
        raise config.ConfigError(f"Two model names, {given!r} and --name {name!r}: give one.")
    return given


def _use_server(
    settings: config.Settings, url: str, name: str | None, api_key: str | None, no_check: bool
) -> None:
    """Save an OpenAI-compatible server, after asking it for its models (unless told not to)."""
    url = url.rstrip("/")
    same_server = url == str(settings.get("model.url")).rstrip("/")
    kept_key = settings.sources["model.api_key"].startswith("OS1_") or same_server
    key = str(settings.get("model.api_key")) if kept_key else ""
    if api_key is not None:
        key = api_key
    updates: dict[str, str | None] = {"model.backend": "openai", "model.url": url}
    updates["model.path"] = None
    if api_key is not None:
        updates["model.api_key"] = api_key
    elif not kept_key:
        updates["model.api_key"] = None  # a key for another server is not sent to this one
    if no_check:
        if not name:
            raise config.ConfigError("--no-check needs --name MODEL: the server is not asked.")
        updates["model.name"] = name
        options.save(updates)
        console.print(
            f"Saved without checking: {name} at {url}. If it does not answer, the first "
            f"reply says so.{_cleared(settings, updates)}"
        )
        return
    timeout_s = min(float(settings.get("model.timeout_s")), 10.0)
    try:
        served = list_models(url, key, timeout_s)
    except BackendError as exc:
        raise config.ConfigError(
            f"Not switched: {exc} (To save it anyway, e.g. before the server is up: --no-check.)"
        ) from None
    name = _served_name(url, name, served)
    updates["model.name"] = name
    options.save(updates)
    console.print(f"Now using {name} at {url} (it answered).{_cleared(settings, updates)}")


def _served_name(url: str, name: str | None, served: list[str]) -> str:
    """``name`` if the server serves it (Ollama adds ``:latest`` to a name without a tag),
    else the one model it serves when no name was given."""
    listing = ", ".join(served[:20]) + (f" and {len(served) - 20} more" * (len(served) > 20))
    if not served:
        raise config.ConfigError(f"Not switched: {url} serves no models.")
    if name:
        if name in served or f"{name}:latest" in served:
            return name
        raise config.ConfigError(
            f"Not switched: {url} has no model {name!r}. It has: {listing}. "
            f"Choose one: os1 model use openai --url {url} --name MODEL"
        )
    if len(served) == 1:
        return served[0]
    raise config.ConfigError(
        f"Not switched: {url} serves {len(served)} models: {listing}. "
        f"Choose one: os1 model use openai --url {url} --name MODEL"
    )


def _gguf(model: str, models_dir: Path, check: bool) -> str:
    """The ``model.path`` to store for ``file:NAME`` (in the models folder) or a path
    (from here if it is here, else in the models folder), checked to be a GGUF file."""
    given = Path(model.removeprefix("file:")).expanduser()
    stored, found = str(given), given if given.is_absolute() else models_dir / given
    if not model.startswith("file:") and not given.is_absolute() and given.exists():
        found = given.resolve()
        stored = str(found)
    if check:
        try:
            with found.open("rb") as file:
                magic = file.read(4)
        except OSError as exc:
            raise config.ConfigError(
                f"Not switched: cannot read {found} ({exc.strerror}). Downloaded models "
                f"are in {models_dir}: os1 model list"
            ) from None
        if magic != b"GGUF":
            raise config.ConfigError(f"Not switched: {found} is not a GGUF model file.")
    return stored


def _cleared(settings: config.Settings, updates: dict[str, str | None]) -> str:
    """Says which settings of config.toml the switch put back to their defaults."""
    path = str(config.config_path())
    gone = [k for k, v in updates.items() if v is None and settings.sources.get(k) == path]
    return f" Back to their defaults: {', '.join(gone)}." if gone else ""


@model_group.command("pull")
@click.argument("source")
@click.pass_context
@friendly_errors
def model_pull(ctx: click.Context, source: str) -> None:
    """Download a GGUF model: a URL or hf:OWNER/REPO/FILE.gguf."""
    model = runtime(ctx).options.model
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"Pulling {source}", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        path = pulling.pull(source, model.embedded.models_dir, model.hub_url, progress=advance)
    console.print(f"Saved {path}. Use it with: os1 model use file:{path.name}")


@click.group("persona")
def persona_group() -> None:
    """The OS's persona: who it is now, and how it has changed."""


def _persona_text(persona: Persona) -> Text:
    text = Text.assemble(
        (persona.name, "bold #c0392b"),
        f" · {persona.voice} voice · ",
        f"{counted(persona.sessions_together, 'session')} together\n",
        ("traits: ", "bold"),
        ", ".join(persona.traits) + "\n",
        ("interests: ", "bold"),
        ", ".join(persona.interests) + "\n",
        ("feelings: ", "bold"),
        persona.feelings + "\n",
    )
    for entry in persona.journal[-5:]:
        text.append(f"journal {entry.written_at.astimezone():%d %b %Y}: ", "bold")
        text.append(entry.text + "\n")
    return text


@persona_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def persona_show(ctx: click.Context, as_json: bool) -> None:
    """The persona as it is now."""
    persona = runtime(ctx).store.persona()
    if persona is None:
        console.print("No persona yet. Run: os1 setup")
        return
    if as_json:
        print_json(asdict(persona))
        return
    console.print(_persona_text(persona))


@persona_group.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def persona_history(ctx: click.Context, as_json: bool) -> None:
    """Every version of the persona, oldest first."""
    versions = runtime(ctx).store.persona_history()
    if as_json:
        print_json(
            [
                {"version": v, "created_at": at, "reason": why, "persona": asdict(p)}
                for v, at, why, p in versions
            ]
        )
        return
    for version, at, why, persona in versions:
        console.rule(Text(f"version {version} · {at.astimezone():%d %b %Y %H:%M} · {why}"))
        console.print(_persona_text(persona))
