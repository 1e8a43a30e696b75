"""Recall: finding what was said, by words (BM25), by meaning (embeddings) and by time."""
