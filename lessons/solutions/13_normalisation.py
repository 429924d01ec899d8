"""Reference solutions of lesson 13, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_batch_norm_forward(x, eps=1e-5):
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)


def wrong_batch_norm_forward(x, eps=1e-5):
    """The unbiased variance (N - 1), which BatchNorm keeps for its running average only."""
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)


def exercise_normalize_backward(g, x, eps=1e-5):
    std = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / std
    return (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std


def wrong_normalize_backward(g, x, eps=1e-5):
    """Only the paths directly and through μ: treats σ as a constant."""
    return (g - g.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
