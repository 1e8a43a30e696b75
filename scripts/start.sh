#!/usr/bin/env bash
# Sets OS1 up in ./.venv (first run only) and starts talking on the embedded model.
# Any arguments are passed to `os1`, e.g. ./scripts/start.sh ask "Hello".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_system_packages
ensure_venv ""
exec .venv/bin/os1 "$@"
