"""Commands for what OS1 remembers: memory list/search/show/edit/forget, export,
and import."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from os1.cli.common import console, friendly_errors, print_json, runtime
from os1.domain import Turn
from os1.memory import editing, exporting, forgetting
from os1.memory.records import fact_record, summary_record
from os1.memory.storage.errors import StoreError


@click.group("memory")
def memory_group() -> None:
    """Browse, search, correct and forget what OS1 remembers."""


@memory_group.command("list")
@click.option(
    "--kind", type=click.Choice(["facts", "summaries", "turns"]), default="facts", show_default=True
)
@click.option("--all", "include_past", is_flag=True, help="Include facts no longer valid.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def memory_list(
    ctx: click.Context, kind: str, include_past: bool, limit: int, as_json: bool
) -> None:
    """List memories: facts (default), summaries or turns."""
    rt = runtime(ctx)
    store = rt.store
    rt.memorizer().index()
    rows: list[dict[str, object]]
    if kind == "facts":
        rows = [fact_record(f) for f in store.facts.list(include_past=include_past, limit=limit)]
    elif kind == "summaries":
        rows = [summary_record(s) for s in store.summaries.list()[-limit:]]
    else:
        rows = [
            {
                "id": f"t{t.id}",
                "speaker": t.speaker,
                "text": t.text,
                "at": t.created_at.isoformat(),
                "importance": t.importance,
            }
            for t in store.recent_turns(limit)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"No {kind} remembered yet.")
        return
    table = Table()
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@memory_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("-k", "k", default=5, show_default=True, help="At most this many memories.")
@click.option(
    "--around",
    default=0,
    show_default=True,
    help="Also show this many turns before and after each memory, from its conversation.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def memory_search(
    ctx: click.Context, query: tuple[str, ...], k: int, around: int, as_json: bool
) -> None:
    """Search everything said, as the OS recalls it (time words like "last week" work)."""
    rt = runtime(ctx)
    rt.memorizer().index()
    retriever = rt.retriever()
    # Only what is relevant: a search for what was never said finds nothing.
    hits = retriever.search(" ".join(query), k, relevant_only=True)
    contexts = {t.id: retriever.expand(t, around) if around > 0 else [t] for t, _ in hits}
    if as_json:
        print_json(
            [
                {
                    **_turn_json(t),
                    "score": round(s, 3),
                    **(
                        {"context": [_turn_json(c) for c in contexts[t.id] if c.id != t.id]}
                        if around > 0
                        else {}
                    ),
                }
                for t, s in hits
            ]
        )
        return
    for turn, score in hits:
        for shown in contexts[turn.id]:
            hit = shown.id == turn.id
            console.print(
                Text.assemble(
                    (f"t{shown.id} ", "dim"),
                    (f"{shown.created_at.astimezone():%d %b %Y} ", "dim"),
                    (f"{shown.speaker}: ", "bold" if hit else "dim"),
                    (shown.text, "" if hit else "dim"),
                    (f"  ({score:.2f})" if hit else "", "dim"),
                )
            )
        if around > 0:
            console.print()


def _turn_json(turn: Turn) -> dict[str, str]:
    return {
        "id": f"t{turn.id}",
        "speaker": turn.speaker,
        "text": turn.text,
        "at": turn.created_at.isoformat(),
    }


@memory_group.command("show")
@click.argument("memory_id")
@click.pass_context
@friendly_errors
def memory_show(ctx: click.Context, memory_id: str) -> None:
    """Show one memory (t12, f3, s2) and the turns it came from."""
    store = runtime(ctx).store
    kind, number = forgetting.parse_id(memory_id)
    if kind == "t":
        turns = store.turns_by_ids([number])
        if number not in turns:
            raise StoreError(f"No turn t{number}")
        turn = turns[number]
        print_json(
            {
                "id": memory_id,
                "speaker": turn.speaker,
                "text": turn.text,
                "at": turn.created_at.isoformat(),
                "session": turn.session_id,
                "facts": [f"f{f.id}: {f.text}" for f in store.facts.from_turns([number])],
            }
        )
        return
    sources = forgetting.source_turns(store, kind, number)
    if kind == "f":
        fact = store.facts.get(number)
        if fact is None:
            raise StoreError(f"No fact f{number}")
        data: dict[str, object] = {
            "id": memory_id,
            "text": fact.text,
            "valid_from": fact.valid_from.isoformat(),
            "valid_to": fact.valid_to and fact.valid_to.isoformat(),
            "superseded_by": fact.superseded_by and f"f{fact.superseded_by}",
        }
    else:
        summary = store.summaries.get(number)
        if summary is None:
            raise StoreError(f"No summary s{number}")
        data = {"id": memory_id, "kind": summary.kind, "text": summary.text}
    turns = store.turns_by_ids(sources)
    data["sources"] = [f"t{t.id} {t.speaker}: {t.text}" for t in turns.values()]
    print_json(data)


@memory_group.command("edit")
@click.argument("memory_id")
@click.argument("text", nargs=-1, required=True)
@click.pass_context
@friendly_errors
def memory_edit(ctx: click.Context, memory_id: str, text: tuple[str, ...]) -> None:
    """Correct a fact (f3), a summary (s2) or a turn's text (t12); what was derived from
    a turn's old words is dropped and extracted again."""
    editing.edit(runtime(ctx).store, memory_id, " ".join(text))
    console.print(f"{memory_id} updated.")


@memory_group.command("forget")
@click.argument("memory_ids", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@friendly_errors
def memory_forget(ctx: click.Context, memory_ids: tuple[str, ...], yes: bool) -> None:
    """Forget memories everywhere: the turns they came from, and every fact, summary
    and vector derived from those turns."""
    store = runtime(ctx).store
    what = forgetting.plan(store, memory_ids)
    shown = store.turns_by_ids(sorted(what.turns))
    for turn in shown.values():
        console.print(
            Text.assemble((f"t{turn.id} ", "dim"), (f"{turn.speaker}: ", "bold"), turn.text)
        )
    for number in what.sourceless_facts:
        fact = store.facts.get(number)
        console.print(Text.assemble((f"f{number} ", "dim"), fact.text if fact else ""))
    if not yes:
        click.confirm("Forget these, and everything that came from them?", abort=True)
    gone = forgetting.forget(store, what)
    console.print("Forgotten: " + ", ".join(f"{v} {k}" for k, v in gone.items()))


@click.command("export")
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write into.",
)
@click.pass_context
@friendly_errors
def export_command(ctx: click.Context, folder: Path) -> None:
    """Export everything to os1-export.jsonl (complete) and os1-export.md (readable)."""
    folder.mkdir(parents=True, exist_ok=True)
    jsonl, markdown = folder / "os1-export.jsonl", folder / "os1-export.md"
    count = exporting.export(runtime(ctx).store, jsonl, markdown)
    console.print(f"Wrote {count} records to {jsonl} and a readable copy to {markdown}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@friendly_errors
def import_command(ctx: click.Context, file: Path) -> None:
    """Import an os1-export.jsonl (into an empty OS1, ids are kept)."""
    rt = runtime(ctx)
    counts = exporting.import_file(rt.store, file)
    with console.status("Rebuilding the search index…"):
        rt.memorizer().index()
    console.print("Imported: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
