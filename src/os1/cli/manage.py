"""Commands for looking after OS1: config, model, persona."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from os1 import config
from os1.cli.common import console, friendly_errors, print_json, runtime
from os1.domain import Persona
from os1.llm import pull as pulling
from os1.llm.embedded import BUNDLED_MODEL_FILE
from os1.llm.openai_compat import list_ollama_models
from os1.mind.templates import counted
from os1.options import ModelOptions
from os1.options import load as load_options


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


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@friendly_errors
def config_set(key: str, value: str) -> None:
    """Set KEY (section.name) to VALUE in config.toml."""
    stored = config.set_value(key, value)
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
@friendly_errors
def model_use(model: str, url: str | None) -> None:
    """Use MODEL: embedded, auto, file:NAME.gguf, a .gguf path, ollama:NAME, or a
    model name on the server given with --url."""
    if url:
        updates = {"model.backend": "openai", "model.url": url, "model.name": model}
    elif model in ("embedded", "auto"):
        updates = {"model.backend": model, "model.path": ""}
    elif model.startswith("ollama:"):
        ollama_url = load_options().model.ollama_url
        updates = {
            "model.backend": "openai",
            "model.url": ollama_url.rstrip("/") + "/v1",
            "model.name": model.removeprefix("ollama:"),
        }
    elif model.startswith("file:") or model.endswith(".gguf"):
        updates = {"model.backend": "embedded", "model.path": model.removeprefix("file:")}
    else:
        raise config.ConfigError(
            f"Don't know how to use {model!r}. See: os1 model list, or give --url for a server."
        )
    for key, value in updates.items():
        config.set_value(key, value)
    console.print(f"Now using {model}.")


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
