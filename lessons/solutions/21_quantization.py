"""Reference solutions of lesson 21 (and one plausible wrong answer each)."""
import numpy as np


def exercise_quantize_row(row):
    scale = np.abs(row).max() / 127
    return np.clip(np.rint(row / scale), -127, 127).astype(np.int8), scale


def exercise_ste_gradient(x, scale):
    return (np.abs(np.rint(x / scale)) <= 127).astype(float)


def wrong_quantize_row(row):
    """An asymmetric range (max - min) used as if it were symmetric."""
    scale = (row.max() - row.min()) / 255
    return np.clip(np.rint(row / scale), -127, 127).astype(np.int8), scale


def wrong_ste_gradient(x, scale):
    """The true derivative of rounding: zero everywhere, so nothing would learn."""
    return np.zeros_like(x, dtype=float)
