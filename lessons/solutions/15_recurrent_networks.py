"""Reference solutions of lesson 15, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def wrong_rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """The recurrent weight used untransposed (it is square, so nothing complains)."""
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh + b_hh)


def exercise_clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    return [g * scale for g in grads] if scale < 1 else grads


def wrong_clip_grad_norm(grads, max_norm):
    """Clips each gradient by its own norm: the direction of the whole update changes."""
    return [g * min(1.0, max_norm / np.sqrt((g ** 2).sum())) for g in grads]
