"""Toy 2-D datasets for the first lessons: two or three classes you can plot and see.

Each function returns ``(points, labels)``: points ``(n, 2)`` float32 and labels ``(n,)`` int64,
shuffled into a random order. A straight line cannot separate the classes, which is the point:
a linear model fails, and a small MLP with a non-linearity bends its decision boundary around
them. Every point is placed by a formula and then moved by Gaussian noise with standard
deviation ``noise`` in each coordinate; ``seed`` makes the draw repeat exactly.

make_moons      two interleaved half circles of radius 1, for t evenly spaced in [0, π]:
                    class 0:  (cos t, sin t)                the upper arch
                    class 1:  (1 - cos t, 0.5 - sin t)      the lower arch, shifted right and down
make_circles    two rings around the origin, for t evenly spaced in [0, 2π):
                    class 0:  (cos t, sin t)                radius 1
                    class 1:  factor · (cos t, sin t)       radius ``factor`` < 1
make_spirals    ``classes`` arms winding out of the origin; for class k and r evenly spaced
                in [0, 1], the point at radius r and angle a = 2πk / classes + 4r (radians):
                    (r cos a, r sin a)
"""
from __future__ import annotations

import numpy as np


def _counts(n: int, classes: int, name: str) -> list[int]:
    """``n`` points shared as evenly as possible between ``classes``."""
    if n < classes:
        raise ValueError(f"{name}: need at least one point per class, got n={n} for "
                         f"{classes} classes")
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


def _finish(parts: list[np.ndarray], noise: float, rng: np.random.Generator, name: str):
    """Stack the classes, add the noise, shuffle; returns (points float32, labels int64)."""
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise}")
    points = np.concatenate(parts)                                          # (n, 2)
    labels = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    points = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(len(points))
    return points[order].astype(np.float32), labels[order]


def make_moons(n: int = 200, noise: float = 0.1, seed: int | None = None):
    """Two interleaving half moons: ``n`` points, labels 0 and 1."""
    n0, n1 = _counts(n, 2, "make_moons")
    upper = np.linspace(0.0, np.pi, n0)
    lower = np.linspace(0.0, np.pi, n1)
    parts = [np.stack([np.cos(upper), np.sin(upper)], axis=1),
             np.stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)], axis=1)]
    return _finish(parts, noise, np.random.default_rng(seed), "make_moons")


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = None):
    """A ring of radius 1 (label 0) around a ring of radius ``factor`` (label 1)."""
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor}")
    parts = []
    for k, count in enumerate(_counts(n, 2, "make_circles")):
        t = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
        radius = 1.0 if k == 0 else factor
        parts.append(radius * np.stack([np.cos(t), np.sin(t)], axis=1))
    return _finish(parts, noise, np.random.default_rng(seed), "make_circles")


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.05, seed: int | None = None):
    """``classes`` spiral arms, one class each, winding out of the origin."""
    if classes < 2:
        raise ValueError(f"make_spirals: need at least 2 classes, got {classes}")
    parts = []
    for k, count in enumerate(_counts(n, classes, "make_spirals")):
        radius = np.linspace(0.0, 1.0, count)
        angle = 2.0 * np.pi * k / classes + 4.0 * radius
        parts.append(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _finish(parts, noise, np.random.default_rng(seed), "make_spirals")
