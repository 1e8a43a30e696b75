"""Reminders on the real embedded model (Gemma 3 270M), end to end from the command line:
the base model cannot call tools, so the request is served by the skill's local intent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from os1.llm.embedded import BUNDLED_MODEL_FILE

pytestmark = pytest.mark.integration


def _os1(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    env.update(OS1_HOME=str(home), OS1_MODEL_BACKEND="embedded", OS1_CHAT_TIMEZONE="UTC")
    return subprocess.run(
        [sys.executable, "-m", "os1", *args], env=env, capture_output=True, text=True, timeout=240
    )


def test_ask_sets_a_reminder_that_lists_then_cancels_after_yes(
    tmp_path: Path, model_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    os.link(model_path, home / "models" / BUNDLED_MODEL_FILE)  # skip re-assembling 250 MB
    assert _os1(home, "setup", "--yes", "--name", "Theodore").returncode == 0

    before = datetime.now(UTC)
    asked = _os1(home, "ask", "--json", "remind me to stretch in 1 minute")
    assert asked.returncode == 0, asked.stderr
    said = json.loads(asked.stdout)
    assert said["status"] == "complete" and "stretch" in said["reply"]
    assert [a["skill"] for a in said["actions"]] == ["reminders"]

    listed = _os1(home, "reminders", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [reminder] = json.loads(listed.stdout)
    assert {"id", "text", "due", "status"} <= set(reminder)
    assert reminder["text"] == "stretch" and reminder["status"] == "pending"
    due = datetime.fromisoformat(reminder["due"])
    assert due.tzinfo is not None
    assert timedelta(seconds=50) <= due - before <= timedelta(seconds=70)

    # Cancelling is a side effect: the OS asks first, and only a yes cancels.
    cancel = json.loads(_os1(home, "ask", "--json", "cancel the one about stretching").stdout)
    assert cancel["confirm"] and "stretch" in cancel["confirm"]["question"]
    assert json.loads(_os1(home, "reminders", "list", "--json").stdout)[0]["status"] == "pending"
    yes = json.loads(_os1(home, "ask", "--json", "yes").stdout)
    assert [a["via"] for a in yes["actions"]] == ["confirmation"]
    assert json.loads(_os1(home, "reminders", "list", "--json").stdout) == []
