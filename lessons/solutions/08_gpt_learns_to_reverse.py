"""Reference solution of lesson 08, and one plausible wrong answer."""
import numpy as np


def exercise_sort_task_text(inputs, separator, ignore=-100):
    n, length = inputs.shape
    sequence = np.concatenate([inputs, np.full((n, 1), separator), np.sort(inputs, axis=1)], axis=1)
    x, y = sequence[:, :-1], sequence[:, 1:].copy()
    y[:, :length] = ignore
    return x, y


def wrong_sort_task_text(inputs, separator, ignore=-100):
    """Off by one: also grades the separator (the slip lesson 08 once made)."""
    n, length = inputs.shape
    sequence = np.concatenate([inputs, np.full((n, 1), separator), np.sort(inputs, axis=1)], axis=1)
    x, y = sequence[:, :-1], sequence[:, 1:].copy()
    y[:, :length - 1] = ignore
    return x, y
