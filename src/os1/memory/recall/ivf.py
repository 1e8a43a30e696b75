"""An inverted-file vector index in numpy, for users with very many memories.

Up to a few tens of thousands of turns, scanning every vector is exact and fast enough.
Past that, vectors are grouped around k-means centroids; a search scans only the groups
nearest the question (``probes``) and rescoring is exact on what it finds. Training takes
seconds even for a million vectors, needs no extra package, and new vectors join the
nearest group at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


class IVFIndex:
    def __init__(self, vectors: Matrix, seed: int = 0, iterations: int = 8) -> None:
        count = len(vectors)
        self.groups = max(1, min(count, int(np.sqrt(count))))
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(count, size=min(count, 40 * self.groups), replace=False)]
        centroids = sample[rng.choice(len(sample), size=self.groups, replace=False)].copy()
        for _ in range(iterations):
            nearest = np.argmax(sample @ centroids.T, axis=1)
            for group in range(self.groups):
                members = sample[nearest == group]
                if len(members):
                    centroids[group] = members.mean(axis=0)
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
        self.centroids = centroids.astype(np.float32)
        self._assignments = np.zeros(0, np.int64)
        self._order = np.zeros(0, np.int64)
        self._bounds = np.zeros(self.groups + 1, np.int64)
        self.add(vectors)

    def add(self, vectors: Matrix) -> None:
        """Assign more rows (they continue the numbering of those already added)."""
        parts = [
            np.argmax(vectors[start : start + 65536] @ self.centroids.T, axis=1)
            for start in range(0, len(vectors), 65536)
        ]
        new = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        self._assignments = np.concatenate([self._assignments, new])
        self._order = np.argsort(self._assignments, kind="stable")
        counts = np.bincount(self._assignments, minlength=self.groups)
        self._bounds = np.concatenate([[0], np.cumsum(counts)])

    def __len__(self) -> int:
        return len(self._assignments)

    def candidates(self, questions: Matrix, probes: int = 12) -> npt.NDArray[np.int64]:
        """Rows in the groups nearest any of the questions."""
        nearest = np.argsort(-(questions @ self.centroids.T), axis=1)[:, :probes]
        groups = np.unique(nearest)
        rows = [self._order[self._bounds[g] : self._bounds[g + 1]] for g in groups]
        return np.concatenate(rows) if rows else np.zeros(0, np.int64)
