"""Commands for the multi-user server: serve, and users add/list/revoke."""

from __future__ import annotations

import click
from rich.table import Table

from os1.cli.common import console, friendly_errors, print_json
from os1.options import load as load_options
from os1.server.accounts import AccountError, AccountStore, open_accounts


def _accounts() -> AccountStore:
    return open_accounts(load_options())


@click.command()
@click.option("--host", help="Address to listen on.  [default: server.host, 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on.  [default: server.port, 8316]")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Processes sharing the address.  [default: server.workers, 1]",
)
@friendly_errors
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the multi-user server: REST, WebSocket, SSE and an OpenAI-compatible API."""
    from os1.server.app import serve as run_server

    options = load_options()
    host = host or options.server.host
    port = port or options.server.port
    workers = workers or options.server.workers
    processes = f", {workers} worker processes" if workers > 1 else ""
    console.print(
        f"OS1 server on http://{host}:{port}{processes} (docs/server.md). Ctrl-C stops it."
    )
    run_server(options, host, port, workers)


@click.group("users")
def users_group() -> None:
    """Accounts of the server, each with its own OS1 and API token."""


@users_group.command("add")
@click.argument("name")
@friendly_errors
def users_add(name: str) -> None:
    """Create an account and print its API token (shown only this once)."""
    accounts = _accounts()
    try:
        account, token = accounts.add(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        accounts.close()
    console.print(f"Created {account.name} (id {account.id}). Its API token, shown only once:")
    click.echo(token)


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def users_list(as_json: bool) -> None:
    """Every account, with when it was created and revoked."""
    accounts = _accounts()
    try:
        rows = accounts.all_accounts()
    finally:
        accounts.close()
    if as_json:
        print_json(
            [
                {"id": a.id, "name": a.name, "created_at": a.created_at, "revoked_at": a.revoked_at}
                for a in rows
            ]
        )
        return
    if not rows:
        console.print("No accounts yet. Add one: os1 users add NAME")
        return
    table = Table()
    for column in ("id", "name", "created", "revoked"):
        table.add_column(column)
    for a in rows:
        table.add_row(str(a.id), a.name, a.created_at, a.revoked_at or "")
    console.print(table)


@users_group.command("revoke")
@click.argument("name")
@friendly_errors
def users_revoke(name: str) -> None:
    """Revoke an account's token at once; its data stays in OS1_HOME/users/ID."""
    accounts = _accounts()
    try:
        account = accounts.revoke(name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        accounts.close()
    console.print(f"Revoked {account.name}; its token no longer works.")
