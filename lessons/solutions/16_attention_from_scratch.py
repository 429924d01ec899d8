"""Reference solutions of lesson 16, and one plausible wrong answer per exercise."""
import numpy as np


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def exercise_attention(q, k, v):
    return _softmax(q @ k.T / np.sqrt(q.shape[-1])) @ v


def wrong_attention(q, k, v):
    """Forgets the 1/√d scale."""
    return _softmax(q @ k.T) @ v


def exercise_causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool))


def wrong_causal_mask(T):
    """Strictly lower: a token may not even see itself (and the first sees nothing)."""
    return np.tril(np.ones((T, T), dtype=bool), k=-1)


def exercise_split_heads(x, num_heads):
    b, t, e = x.shape
    return x.reshape(b, t, num_heads, e // num_heads).transpose(0, 2, 1, 3)


def wrong_split_heads(x, num_heads):
    """Reshapes straight to (B, H, T, D): the right shape, but each 'head' mixes positions."""
    b, t, e = x.shape
    return x.reshape(b, num_heads, t, e // num_heads)
