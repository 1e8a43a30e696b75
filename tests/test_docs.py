from __future__ import annotations

from os1.cli import docs
from tests.support.paths import ROOT


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == docs.render(), (
        "docs/cli.md is stale: run python -m os1.cli.docs docs/cli.md"
    )


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    commands = [
        line for line in block.splitlines()[1:] if line.strip() and not line.startswith("#")
    ]
    assert commands == ["./scripts/start.sh", "./scripts/test.sh"]
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
