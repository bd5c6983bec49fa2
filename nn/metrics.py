"""Metrics over arrays of outputs (N, K) and targets (N, K)."""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["accuracy", "predict_labels", "one_hot"]


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    """Integer class labels (N,) → one-hot rows (N, k)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot: labels must be a 1-D integer array, got dtype {labels.dtype} "
                         f"shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"one_hot: labels must lie in 0..{k - 1}, got {labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, k))
    out[np.arange(labels.size), labels] = 1.0
    return out


def predict_labels(outputs: np.ndarray, targets: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Predicted and true class labels, or ``None`` when the targets are not class labels.

    K > 1: argmax of outputs vs argmax of targets. K = 1: targets in {0, 1} → predicted
    class is output ≥ 0.5; targets in {−1, +1} → output ≥ 0 (sign units, hinge scores).
    """
    outputs, targets = np.asarray(outputs, float), np.asarray(targets, float)
    if outputs.shape != targets.shape or outputs.ndim != 2:
        raise ValueError(f"accuracy: outputs {outputs.shape} and targets {targets.shape} must both be (N, K)")
    if outputs.shape[1] > 1:
        return outputs.argmax(axis=1), targets.argmax(axis=1)
    t = targets[:, 0]
    values = set(np.unique(t).tolist())
    if values <= {0.0, 1.0}:
        return (outputs[:, 0] >= 0.5).astype(int), t.astype(int)
    if values <= {-1.0, 1.0}:
        return np.where(outputs[:, 0] >= 0.0, 1, -1), t.astype(int)
    return None


def accuracy(outputs: np.ndarray, targets: np.ndarray) -> Optional[float]:
    """Fraction of samples classified correctly (see :func:`predict_labels`), or ``None``."""
    labels = predict_labels(outputs, targets)
    if labels is None or labels[0].size == 0:
        return None
    pred, true = labels
    return float(np.mean(pred == true))
