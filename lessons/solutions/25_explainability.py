"""Reference solutions of lesson 25, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_integrated_gradients(gradient, x, baseline, steps):
    alphas = (np.arange(steps) + 0.5) / steps                     # (K,)
    points = baseline + alphas[:, None] * (x - baseline)           # (K, D)
    return (x - baseline) * gradient(points).mean(axis=0)


def wrong_integrated_gradients(gradient, x, baseline, steps):
    """The average gradient along the path, without the factor (x - x')."""
    alphas = (np.arange(steps) + 0.5) / steps
    return gradient(baseline + alphas[:, None] * (x - baseline)).mean(axis=0)


def exercise_attention_weights(q, k):
    scores = q @ k.T / np.sqrt(q.shape[1])                         # (T, T)
    scores[np.triu_indices(len(q), 1)] = -np.inf
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def wrong_attention_weights(q, k):
    """Causal, but without the 1/√D: the softmax comes out too sharp."""
    scores = q @ k.T
    scores[np.triu_indices(len(q), 1)] = -np.inf
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)
