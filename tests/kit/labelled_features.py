"""Labelled feature rows for the training heads: each head's class shifts its own feature dimensions."""

from __future__ import annotations

import numpy as np

from anonflow.models.crops import HEADS


def blobs(n: int, seed: int, shift: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """float32 [n, 24] features and int64 [n, 3] labels (order of `HEADS`): head h's class c adds `shift`
    to feature 8h + c over unit noise, so every head is learnable and none perfectly."""
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, len(values), n) for values in HEADS.values()], axis=1)
    features = rng.normal(0, 1, (n, 24)).astype(np.float32)
    for h, values in enumerate(HEADS.values()):
        for c in range(len(values)):
            features[labels[:, h] == c, 8 * h + c] += shift
    return features, labels
