"""Writes docs/cli.md from the commands' own help, or checks that it is current.

python -m os1.cli.docs docs/cli.md           # write
python -m os1.cli.docs --check docs/cli.md   # fail if out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from os1.cli.main import cli


def _sections(command: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(command, info_name=" ".join(path), terminal_width=88, max_content_width=88)
    out = [
        f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`",
        "",
        "```",
        command.get_help(ctx),
        "```",
        "",
    ]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None:
                out += _sections(sub, [*path, name])
    return out


def render() -> str:
    header = [
        "# OS1 command line",
        "",
        "Generated from the commands' help by `python -m os1.cli.docs docs/cli.md`;",
        "CI checks that it is current.",
        "",
    ]
    return "\n".join(header + _sections(cli, ["os1"])).rstrip() + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    target = Path(next(a for a in argv if not a.startswith("--")))
    text = render()
    if check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date: run python -m os1.cli.docs {target}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
