"""Reference solution of lesson 03, and one plausible wrong answer."""
import numpy as np


def exercise_sum_to(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))      # the added leading axes
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def wrong_sum_to(grad, shape):
    """Sums the added leading axes only, and forgets the axes stretched from length 1."""
    return grad.sum(axis=tuple(range(grad.ndim - len(shape))))
