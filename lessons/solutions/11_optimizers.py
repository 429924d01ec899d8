"""Reference solutions of lesson 11, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_nesterov_step(p, g, buffer, lr, momentum):
    buffer = g.copy() if buffer is None else momentum * buffer + g
    return p - lr * (g + momentum * buffer), buffer


def wrong_nesterov_step(p, g, buffer, lr, momentum):
    """Plain (heavy-ball) momentum: steps along the buffer, no look-ahead."""
    buffer = g.copy() if buffer is None else momentum * buffer + g
    return p - lr * buffer, buffer


def exercise_adamw_step(p, g, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return p, m, v


def wrong_adamw_step(p, g, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    """Adam with L2: the decay added to the gradient, where the adaptive scale rescales it."""
    beta1, beta2 = betas
    g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return p, m, v
