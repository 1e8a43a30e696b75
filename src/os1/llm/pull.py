"""``os1 model pull``: fetch a GGUF file for the embedded backend.

A source is a URL (http, https or file) or ``hf:OWNER/REPO/FILE.gguf`` on the
configured hub. The download goes to a ``.partial`` file, is checked to be GGUF,
and only then takes its real name, so an interrupted pull leaves nothing half-done.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from os1.llm.base import BackendError

GGUF_MAGIC = b"GGUF"
Progress = Callable[[int, int | None], None]


def resolve_source(source: str, hub_url: str) -> str:
    if source.startswith("hf:"):
        parts = source[3:].strip("/").split("/")
        if len(parts) < 3 or not parts[-1].endswith(".gguf"):
            raise BackendError(
                f"{source!r} is not OWNER/REPO/FILE.gguf, e.g. "
                "hf:unsloth/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf"
            )
        repo, file = "/".join(parts[:2]), "/".join(parts[2:])
        return f"{hub_url.rstrip('/')}/{repo}/resolve/main/{file}"
    if urlparse(source).scheme in ("http", "https", "file"):
        return source
    raise BackendError(f"{source!r} is neither a URL nor hf:OWNER/REPO/FILE.gguf")


def pull(
    source: str,
    models_dir: Path,
    hub_url: str,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Path:
    url = resolve_source(source, hub_url)
    name = Path(unquote(urlparse(url).path)).name
    if not name.endswith(".gguf"):
        raise BackendError(f"{url} does not name a .gguf file")
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / name
    partial = target.with_name(name + ".partial")
    try:
        if url.startswith("file:"):
            _copy_local(Path(unquote(urlparse(url).path)), partial, progress)
        else:
            _download(url, partial, progress, transport)
        with partial.open("rb") as fh:
            if fh.read(4) != GGUF_MAGIC:
                raise BackendError(f"{url} is not a GGUF model file (bad header)")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _copy_local(path: Path, partial: Path, progress: Progress | None) -> None:
    if not path.is_file():
        raise BackendError(f"{path} does not exist")
    total = path.stat().st_size
    with path.open("rb") as src, partial.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    if progress:
        progress(total, total)


def _download(
    url: str, partial: Path, progress: Progress | None, transport: httpx.BaseTransport | None
) -> None:
    timeout = httpx.Timeout(60.0, connect=10.0)
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise BackendError(f"{url} answered {response.status_code}")
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with partial.open("wb") as out:
                for block in response.iter_bytes(1 << 20):
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
    except httpx.HTTPError as exc:
        raise BackendError(
            f"Downloading {url} failed: {exc}. Check the network and retry."
        ) from None


def list_local(models_dir: Path) -> list[Path]:
    return sorted(models_dir.glob("*.gguf")) if models_dir.exists() else []
