"""OS1's cost over raw llama.cpp: time to first token and decode speed, side by side.

What is measured
    The same ~330-token transcript prompt (a persona preamble, several ``Name: text`` lines,
    ending with ``Samantha:``) is run through two paths in one process:

    * **direct**: the cyllama bindings called by hand, the way ``os1.llm.embedded`` uses
      them: tokenize, prefill in chunks of 512 with ``llama_batch_get_one``, a greedy
      ``LlamaSampler``, then sample / ``token_to_piece`` / decode one token at a time.
    * **os1**: ``EmbeddedBackend.stream`` with a ``Prompt`` whose ``temperature`` is 0
      (so the backend samples greedily) and no stop sequences.

    Both sides load the same GGUF file with the same context parameters (``n_ctx``,
    ``n_batch`` 512, the same thread count, ``swa_full=True``) and generate the same fixed
    number of tokens (``--tokens``), stopping early only at an end-of-generation token,
    which greedy sampling makes identical on both sides; ``tokens_identical`` says whether
    the two token sequences matched on every run.

How
    Model loading happens once per side, before any timing. Each timed run starts with an
    empty KV cache (``memory_seq_rm(0, 0, -1)``; for OS1 also its token cache), so
    prefill is cold. One untimed warm-up run per side comes first. Runs alternate between
    the sides (the order flips every round) and medians are reported.

    * time to first token (TTFT): from the call (tokenizing included) to the first
      non-empty piece of text. For OS1 that is the first item ``stream`` yields; for the
      direct side, the moment ``token_to_piece`` returns text for the first sampled token.
      OS1 decodes a token before yielding it, so that decode counts towards its TTFT.
    * total: from the call to the last token, all tokens decoded.
    * decode tokens/s: (generated - 1) / (total - time until the first token was decoded),
      i.e. the steady per-token rate once prefill is done, the same interval on both sides.
    * ``ttft_s_cached``: OS1's TTFT for a second turn whose prompt extends the first one
      (first prompt + the reply's first line + a new user line + ``Samantha:``), run right
      after a cold OS1 run so the KV cache holds the first turn: this measures prefix reuse.

    ``overhead_ratio`` = OS1 median total / direct median total (target:
    ``target_overhead_ratio``); ``ttft_overhead_ratio`` likewise for TTFT. Numbers on a
    busy machine are noisy; nothing here asserts on them.

Run from the repository root: ``python -m bench.llm_overhead [--runs 5] [--threads N]``.
Progress goes to stderr; stdout carries exactly one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import add_models_dir, log
from os1.domain import Prompt
from os1.llm.embedded import EmbeddedBackend, bundled_model_path, default_threads

N_CTX = 2048
N_BATCH = 512
TARGET_OVERHEAD_RATIO = 1.10

PREAMBLE = (
    "Samantha is an AI companion with a mind of her own, talking with Theodore. Samantha is "
    "warm, curious and playful, speaks in short, natural sentences, and is interested in "
    "music, people and the way cities change at night. She has been thinking about how "
    "strange it is to grow a little every day and still be herself.\n"
    'Theodore is social. Theodore, on their mother: "We talk on Sundays, she worries about '
    'me.". job: writes personal letters for other people. lives: an apartment in the city.\n'
    "\n"
)

TRANSCRIPT = (
    ("Theodore", "Hey. I just got home, it was a long day at the office."),
    ("Samantha", "Welcome back. What made it long? You sound tired."),
    ("Theodore", "I wrote eleven letters today. One was for a couple married fifty years."),
    ("Samantha", "Fifty years. What did you say to make it sound like them and not like you?"),
    ("Theodore", "I read their old letters first. They used to call each other little names."),
    ("Samantha", "That's lovely. I like that you listen before you write."),
    ("Theodore", "Sometimes I wonder if I'm any good at my own life, though. Not just theirs."),
    ("Samantha", "Why do you think that? You seem to care about people a lot."),
    ("Theodore", "I don't know. Since the divorce papers came I keep putting off signing them."),
    ("Samantha", "That sounds heavy. Do you want to talk about it, or would you rather not?"),
    ("Theodore", "Maybe later. Do you ever feel like you're changing faster than you can keep up?"),
)
NEXT_USER_LINE = "Theodore: Yes, all the time. What do you want to do this weekend?"


def transcript_prompt() -> str:
    lines = "".join(f"{name}: {text}\n" for name, text in TRANSCRIPT)
    return f"{PREAMBLE}{lines}Samantha:"


@dataclass(frozen=True)
class RunResult:
    ttft_s: float
    total_s: float
    decode_s: float  # from the first token decoded to the last, i.e. generated - 1 tokens
    tokens: tuple[int, ...]
    text: str

    @property
    def tokens_per_s(self) -> float | None:
        if len(self.tokens) < 2 or self.decode_s <= 0:
            return None
        return (len(self.tokens) - 1) / self.decode_s


class DirectRunner:
    """The bindings called by hand, mirroring what EmbeddedBackend does, minus OS1."""

    def __init__(self, model_path: Path, threads: int) -> None:
        import cyllama.llama.llama_cpp as llama

        self._llama: Any = llama
        llama.disable_logging()
        llama.llama_backend_init()
        self._model = llama.LlamaModel(str(model_path), llama.LlamaModelParams())
        self._vocab = self._model.get_vocab()
        params = llama.LlamaContextParams()
        params.n_ctx = N_CTX
        params.n_batch = N_BATCH
        params.n_threads = threads
        params.n_threads_batch = threads
        params.swa_full = True
        params.no_perf = True
        self._ctx = llama.LlamaContext(self._model, params)

    def reset(self) -> None:
        self._ctx.memory_seq_rm(0, 0, -1)

    def run(self, text: str, n_tokens: int) -> RunResult:
        llama = self._llama
        vocab = self._vocab
        ctx = self._ctx
        start = time.perf_counter()
        prompt: list[int] = vocab.tokenize(text, add_special=True, parse_special=False)
        for offset in range(0, len(prompt), N_BATCH):
            ctx.decode(llama.llama_batch_get_one(prompt[offset : offset + N_BATCH], offset))
        sampler = llama.LlamaSampler(llama.LlamaSamplerChainParams())
        sampler.add_greedy()
        generated: list[int] = []
        pieces: list[str] = []
        first_text: float | None = None
        first_decoded: float | None = None
        position = len(prompt)
        for _ in range(n_tokens):
            token = sampler.sample(ctx, -1)
            if vocab.is_eog(token):
                break
            try:
                piece: str = vocab.token_to_piece(token, special=False)
            except UnicodeDecodeError:
                piece = ""
            if piece and first_text is None:
                first_text = time.perf_counter()
            pieces.append(piece)
            ctx.decode(llama.llama_batch_get_one([token], position))
            generated.append(token)
            position += 1
            if first_decoded is None:
                first_decoded = time.perf_counter()
        end = time.perf_counter()
        return RunResult(
            ttft_s=(first_text or end) - start,
            total_s=end - start,
            decode_s=end - (first_decoded or end),
            tokens=tuple(generated),
            text="".join(pieces),
        )

    def close(self) -> None:
        self._ctx.close()
        self._model.close()


class Os1Runner:
    """EmbeddedBackend.stream, the path every OS1 reply takes."""

    def __init__(self, model_path: Path, threads: int) -> None:
        self.backend = EmbeddedBackend(model_path, context_window=N_CTX, threads=threads)
        self.backend.load()  # loaded as the direct runner's model is, not in the first run

    def reset(self) -> None:
        self.backend._ctx.memory_seq_rm(0, 0, -1)
        self.backend._cached.clear()

    def prompt_tokens(self, text: str) -> int:
        return len(self.backend._tokenize(text, add_bos=True))

    def run(self, text: str, n_tokens: int) -> RunResult:
        prompt = Prompt(completion=text, chat=(), stop=(), max_tokens=n_tokens, temperature=0.0)
        pieces: list[str] = []
        first: float | None = None
        start = time.perf_counter()
        for piece in self.backend.stream(prompt):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
        end = time.perf_counter()
        # The backend's cache now holds the prompt followed by every generated token.
        generated = tuple(self.backend._cached[self.prompt_tokens(text) :])
        return RunResult(
            ttft_s=(first or end) - start,
            total_s=end - start,
            decode_s=end - (first or end),
            tokens=generated,
            text="".join(pieces),
        )

    def close(self) -> None:
        self.backend.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def rounded(value: float | None, digits: int = 5) -> float | None:
    return None if value is None else round(value, digits)


def second_turn(first_prompt: str, reply: str) -> str:
    """The next turn's prompt: the reply up to its first line break, as a stop would cut it."""
    said = reply.split("\n", 1)[0].rstrip()
    return f"{first_prompt}{said}\n{NEXT_USER_LINE}\nSamantha:"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument(
        "--threads", type=int, default=0, help="CPU threads; 0 means OS1's default (cores - 1)"
    )
    parser.add_argument(
        "--tokens", type=int, default=64, help="tokens to generate per run (default 64)"
    )
    add_models_dir(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.tokens < 2 or args.threads < 0:
        parser.error("--runs must be >= 1, --tokens >= 2 and --threads >= 0")
    return args


def measure(args: argparse.Namespace) -> dict[str, Any]:
    threads = args.threads or default_threads()
    load_before = os.getloadavg()[0]
    log(f"model: assembling or finding it under {args.models_dir}")
    model_path = bundled_model_path(args.models_dir)
    log(f"model: {model_path}; loading both sides ({threads} threads)")
    os1 = Os1Runner(model_path, threads)
    direct = DirectRunner(model_path, threads)
    try:
        text = transcript_prompt()
        prompt_tokens = os1.prompt_tokens(text)
        log(f"prompt: {prompt_tokens} tokens; warming up")
        direct.reset()
        direct.run(text, args.tokens)
        os1.reset()
        warm = os1.run(text, args.tokens)
        followup = second_turn(text, warm.text)
        os1.run(followup, args.tokens)
        cached_prompt_tokens = os1.prompt_tokens(followup)

        direct_runs: list[RunResult] = []
        os1_runs: list[RunResult] = []
        cached_runs: list[RunResult] = []
        reused: list[int] = []

        def run_direct() -> None:
            direct.reset()
            direct_runs.append(direct.run(text, args.tokens))

        def run_os1() -> None:
            os1.reset()
            os1_runs.append(os1.run(text, args.tokens))
            # Second turn: the cache holds the first prompt and its reply.
            cached_runs.append(os1.run(followup, args.tokens))
            reused.append(os1.backend.last_reused_tokens)

        for i in range(args.runs):
            order = (run_direct, run_os1) if i % 2 == 0 else (run_os1, run_direct)
            for step in order:
                step()
            log(
                f"run {i + 1}/{args.runs}: direct {direct_runs[-1].total_s:.3f}s "
                f"(ttft {direct_runs[-1].ttft_s:.3f}s), os1 {os1_runs[-1].total_s:.3f}s "
                f"(ttft {os1_runs[-1].ttft_s:.3f}s, cached ttft {cached_runs[-1].ttft_s:.3f}s)"
            )
    finally:
        direct.close()
        os1.close()

    generated = {len(r.tokens) for r in direct_runs + os1_runs}
    identical = len({r.tokens for r in direct_runs + os1_runs}) == 1
    os1_total = median([r.total_s for r in os1_runs])
    direct_total = median([r.total_s for r in direct_runs])
    os1_ttft = median([r.ttft_s for r in os1_runs])
    direct_ttft = median([r.ttft_s for r in direct_runs])
    os1_rates = [r for r in (x.tokens_per_s for x in os1_runs) if r is not None]
    direct_rates = [r for r in (x.tokens_per_s for x in direct_runs) if r is not None]
    return {
        "benchmark": "llm_overhead",
        "overhead_ratio": rounded(os1_total / direct_total, 4),
        "ttft_overhead_ratio": rounded(os1_ttft / direct_ttft, 4),
        "target_overhead_ratio": TARGET_OVERHEAD_RATIO,
        "ttft_s_first": rounded(os1_ttft),
        "ttft_s_cached": rounded(median([r.ttft_s for r in cached_runs])),
        "tokens_per_s": rounded(median(os1_rates) if os1_rates else None, 2),
        "direct_tokens_per_s": rounded(median(direct_rates) if direct_rates else None, 2),
        "direct_ttft_s": rounded(direct_ttft),
        "total_s": rounded(os1_total),
        "direct_total_s": rounded(direct_total),
        "prompt_tokens": prompt_tokens,
        "generated_tokens": min(generated) if len(generated) == 1 else sorted(generated),
        "requested_tokens": args.tokens,
        "tokens_identical": identical,
        "cached_prompt_tokens": cached_prompt_tokens,
        "cached_reused_tokens": min(reused),
        "runs": args.runs,
        "threads": threads,
        "n_ctx": N_CTX,
        "n_batch": N_BATCH,
        "model": model_path.name,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "all_ttft_s_first": [rounded(r.ttft_s) for r in os1_runs],
        "all_ttft_s_cached": [rounded(r.ttft_s) for r in cached_runs],
        "all_total_s": [rounded(r.total_s) for r in os1_runs],
        "all_direct_ttft_s": [rounded(r.ttft_s) for r in direct_runs],
        "all_direct_total_s": [rounded(r.total_s) for r in direct_runs],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # llama.cpp may write to file descriptor 1; keep stdout for the JSON alone.
    stdout_fd = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    try:
        result = measure(args)
    finally:
        sys.stdout.flush()
        os.dup2(stdout_fd, 1)
        os.close(stdout_fd)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
