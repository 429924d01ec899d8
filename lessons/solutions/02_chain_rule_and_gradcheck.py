"""Reference solutions of lesson 02, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_central_difference(f, x, eps=1e-4):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def wrong_central_difference(f, x, eps=1e-4):
    """The one-sided difference: an error proportional to eps, not eps²."""
    return (f(x + eps) - f(x)) / eps


def exercise_chain_rule(x):
    inner = x * x
    return np.exp(np.sin(inner)) * np.cos(inner) * 2 * x


def wrong_chain_rule(x):
    """Forgets the innermost factor d(x²)/dx = 2x."""
    inner = x * x
    return np.exp(np.sin(inner)) * np.cos(inner)
