"""Where things are, from any test's depth: the repository, and ../shared beside it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
