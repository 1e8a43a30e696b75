"""``os1 eval``: OS1 measured on benchmarks, through its real paths: LoCoMo (recall of
evidence turns) and the companion set (whole lives told, then probe questions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from os1.cli.common import console, friendly_errors, runtime
from os1.evaluation import companion as companion_eval
from os1.evaluation.locomo import DatasetError, evaluate
from os1.memory.storage.errors import StoreError


@click.group("eval")
def eval_group() -> None:
    """Measure OS1 on public benchmarks."""


@eval_group.command("locomo")
@click.option(
    "--data",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="LoCoMo JSON file (e.g. locomo10.json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--qa", is_flag=True, help="Also answer each question with the model; token F1.")
@click.option("--limit", type=int, help="Only the first N conversations.")
@click.pass_context
@friendly_errors
def eval_locomo(ctx: click.Context, path: Path, as_json: bool, qa: bool, limit: int | None) -> None:
    """Recall@5/10/25 of evidence turns on LoCoMo, categories 1-4, with a BM25 baseline."""
    rt = runtime(ctx)
    try:
        with console.status("Evaluating…") as status:
            result = evaluate(
                path,
                rt.embedders,
                rt.backend if qa else None,
                progress=lambda m: status.update(m),
                limit=limit,
            )
    except DatasetError as exc:
        raise StoreError(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    table = Table(title=f"LoCoMo, {result['n']} questions, {result['wall_s']} s")
    for column in ("", "recall@5", "recall@10", "recall@25"):
        table.add_column(column)
    rows = {
        "overall": result["overall"],
        **result["by_category"],
        "BM25 baseline": result["baseline_bm25"]["overall"],
    }
    for name, values in rows.items():
        table.add_row(name, *(f"{values[f'recall@{k}']:.3f}" for k in (5, 10, 25)))
    console.print(table)


@eval_group.command("companion")
@click.option(
    "--data",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A companion set (os1-companion-eval/1), e.g. companion-dev.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--verbose", is_flag=True, help="Per probe: what was recalled and what was said.")
@click.option("--only", default="", help="Only these conversations (ids, comma-separated).")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep each told store here, and reuse one that is there (re-scores the probes only).",
)
@click.pass_context
@friendly_errors
def eval_companion(
    ctx: click.Context, path: Path, as_json: bool, verbose: bool, only: str, keep: Path | None
) -> None:
    """Tell the companion each life on the real path, then ask the probes; accuracy by
    category, generic replies and the precision of stored facts."""
    rt = runtime(ctx)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    ids = [i.strip() for i in only.split(",") if i.strip()]
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Setting up…", total=None)
            result = companion_eval.evaluate(
                path,
                rt.options,
                rt.backend,
                rt.embedders,
                progress=lambda m: bar.update(task, description=m),
                only=ids,
                verbose=verbose,
                kept=keep,
            )
    except companion_eval.DatasetError as exc:
        raise StoreError(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    if verbose:
        for probe in result["probes"]:
            mark = "[green]✓[/]" if probe["correct"] else "[red]✗[/]"
            console.print(f"{mark} [bold]{probe['id']}[/] {probe['question']}")
            console.print(f"   said ({', '.join(probe['by'])}): {probe['reply']}", markup=False)
            for line in probe["recalled"]:
                console.print(f"   recalled: {line[:160]}", markup=False)
    overall = result["overall"]
    table = Table(title=f"Companion, {overall['n']} probes, {result['wall_s']} s")
    table.add_column("")
    table.add_column("accuracy")
    table.add_column("n")
    table.add_row("overall", f"{overall['accuracy']:.3f}", str(overall["n"]))
    for name, values in result["by_category"].items():
        table.add_row(name, f"{values['accuracy']:.3f}", str(values["n"]))
    console.print(table)
    console.print(
        f"generic replies {result['generic_reply_rate']:.3f} of {result['replies']}; "
        f"facts precision {result['facts']['precision']:.3f} of {result['facts']['n']}"
    )
