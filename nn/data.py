"""Small 2-D classification data sets (numpy, seeded). Each returns ``(X, y)`` with X of
shape (N, 2) float64 and integer labels y of shape (N,) (0/1, or 0..K−1 for spirals).
Use ``2*y − 1`` for ±1 targets (sign units, hinge loss).
"""

from __future__ import annotations

import numpy as np

from autodiff import validate

from .init import RngLike, make_rng

__all__ = ["xor", "two_moons", "circles", "spirals"]


def xor(signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points in {0,1}² and their labels x₁ ⊕ x₂ (with ``signed``: inputs and
    labels in {−1, +1})."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    if signed:
        return 2 * X - 1, 2 * y - 1
    return X, y


def two_moons(n: int = 100, noise: float = 0.1, rng: RngLike = None, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``): class 0 on
    (cos t, sin t), class 1 on (1 − cos t, ½ − sin t), t ∈ [0, π], plus N(0, noise²) noise;
    ⌊n/2⌋ points in class 0, the rest in class 1, shuffled."""
    n = validate.int_at_least(n, "two_moons(n)", 2)
    noise = validate.nonnegative_number(noise, "two_moons(noise)")
    gen = make_rng(rng, seed, "two_moons(rng)")
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.vstack([np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    X = X + gen.normal(0.0, noise, X.shape) if noise else X
    perm = gen.permutation(n)
    return X[perm], y[perm]


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, rng: RngLike = None,
            seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (< 1)."""
    n = validate.int_at_least(n, "circles(n)", 2)
    noise = validate.nonnegative_number(noise, "circles(noise)")
    factor = validate.finite_number(factor, "circles(factor)")
    if not 0 < factor < 1:
        raise ValueError(f"circles(factor) must lie in (0, 1), got {factor!r}")
    gen = make_rng(rng, seed, "circles(rng)")
    n0 = n // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n - n0, endpoint=False)
    X = np.vstack([np.c_[np.cos(t0), np.sin(t0)], factor * np.c_[np.cos(t1), np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    X = X + gen.normal(0.0, noise, X.shape) if noise else X
    perm = gen.permutation(n)
    return X[perm], y[perm]


def spirals(n: int = 100, classes: int = 2, turns: float = 1.0, noise: float = 0.1, rng: RngLike = None,
            seed=None) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved arms r = t, angle = 2π·turns·t + 2πk/classes, t ∈ [0.05, 1],
    with N(0, noise²) noise on the angle (scaled by r) — the CS231n spiral."""
    n = validate.int_at_least(n, "spirals(n)", 2)
    noise = validate.nonnegative_number(noise, "spirals(noise)")
    classes = validate.int_at_least(classes, "spirals(classes)", 2)
    turns = validate.finite_number(turns, "spirals(turns)")
    gen = make_rng(rng, seed, "spirals(rng)")
    counts = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    Xs, ys = [], []
    for k, m in enumerate(counts):
        r = np.linspace(0.05, 1.0, m)
        theta = 2 * np.pi * turns * r + 2 * np.pi * k / classes + gen.normal(0.0, noise, m)
        Xs.append(np.c_[r * np.cos(theta), r * np.sin(theta)])
        ys.append(np.full(m, k))
    X, y = np.vstack(Xs), np.concatenate(ys)
    perm = gen.permutation(n)
    return X[perm], y[perm]
