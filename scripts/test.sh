#!/usr/bin/env bash
# Sets up the dev tools in ./.venv and runs every check and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_system_packages
ensure_browser
ensure_venv "[dev]"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "ruff lint";        .venv/bin/ruff check src tests bench
step "ruff format";      .venv/bin/ruff format --check src tests bench
step "mypy (strict)";    .venv/bin/mypy
step "CLI docs current"; .venv/bin/python -m os1.cli.docs --check docs/cli.md
step "PostgreSQL";       pgdata="$PWD/.cache/test-postgres"
mkdir -p .cache
# The store suite runs on SQLite and on this PostgreSQL (with pgvector); stopped on exit.
trap '.venv/bin/python -m tests.support.postgres stop "$pgdata"' EXIT
OS1_TEST_POSTGRES_URL="$(.venv/bin/python -m tests.support.postgres start "$pgdata")"
export OS1_TEST_POSTGRES_URL
echo "$OS1_TEST_POSTGRES_URL"
step "pytest";           .venv/bin/pytest "$@"
