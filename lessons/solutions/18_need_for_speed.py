"""Reference solutions of lesson 18, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_online_update(m, l, acc, scores, values):
    m_new = np.maximum(m, scores.max(axis=1))
    rescale = np.exp(m - m_new)
    p = np.exp(scores - m_new[:, None])
    return m_new, l * rescale + p.sum(axis=1), acc * rescale[:, None] + p @ values


def wrong_online_update(m, l, acc, scores, values):
    """Rescales the running sum but forgets to rescale the running output."""
    m_new = np.maximum(m, scores.max(axis=1))
    rescale = np.exp(m - m_new)
    p = np.exp(scores - m_new[:, None])
    return m_new, l * rescale + p.sum(axis=1), acc + p @ values


def exercise_score_bytes(batch, heads, T, dtype_bytes):
    return batch * heads * T * T * dtype_bytes


def wrong_score_bytes(batch, heads, T, dtype_bytes):
    """Counts T numbers per query row once for all heads."""
    return batch * T * T * dtype_bytes
