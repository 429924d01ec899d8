"""Reference solutions of lesson 12, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_dropout(x, p, training, rng):
    if not training:
        return x
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)


def wrong_dropout(x, p, training, rng):
    """Forgets the inverted scaling: the expected value falls to (1 - p)·x in training."""
    if not training:
        return x
    return x * (rng.random(x.shape) >= p)


def exercise_l1_proximal_step(w, grad, lr, lam):
    w = w - lr * grad
    return np.sign(w) * np.maximum(np.abs(w) - lr * lam, 0)


def wrong_l1_proximal_step(w, grad, lr, lam):
    """A plain subgradient step on lam·|w|: small weights jump across zero instead of stopping."""
    return w - lr * (grad + lam * np.sign(w))
