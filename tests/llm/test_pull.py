"""`os1 model pull`, on local files: over file:// and over a real HTTP server on loopback."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from os1.cli.main import cli
from os1.llm.base import BackendError
from os1.llm.pull import pull, resolve_source


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A local folder laid out like a model hub, served over HTTP."""
    repo = tmp_path / "hub" / "owner" / "repo" / "resolve" / "main"
    repo.mkdir(parents=True)
    (repo / "tiny.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 40)
    (repo / "fake.gguf").write_bytes(b"<html>not a model</html>")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path / "hub"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pull_from_hub_name(hub: str, tmp_path: Path) -> None:
    seen: list[int] = []
    path = pull("hf:owner/repo/tiny.gguf", tmp_path / "models", hub, lambda d, t: seen.append(d))
    assert path.read_bytes().startswith(b"GGUF") and path.stat().st_size == 4 + 256 * 40
    assert seen and seen[-1] == path.stat().st_size


def test_pull_refuses_a_file_that_is_not_gguf(hub: str, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not a GGUF"):
        pull(f"{hub}/owner/repo/resolve/main/fake.gguf", tmp_path / "models", hub)
    assert list((tmp_path / "models").iterdir()) == []  # no half-written file is left


def test_missing_file_and_bad_source(hub: str, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="404"):
        pull("hf:owner/repo/none.gguf", tmp_path / "models", hub)
    with pytest.raises(BackendError, match=r"OWNER/REPO/FILE\.gguf"):
        resolve_source("hf:just-a-name", hub)


def test_pull_real_model_from_local_file_and_use_it(
    home: Path, model_path: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["model", "pull", model_path.as_uri()])
    assert result.exit_code == 0, result.output
    pulled = home / "models" / model_path.name
    assert pulled.stat().st_size == model_path.stat().st_size
    assert runner.invoke(cli, ["model", "use", f"file:{pulled.name}"]).exit_code == 0
    listed = runner.invoke(cli, ["model", "list", "--json"])
    assert f"file:{pulled.name}" in listed.output
