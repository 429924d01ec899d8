"""Reference solutions of lesson 17, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_sampling_probs(logits, temperature=1.0, top_k=None):
    scaled = logits / temperature
    if top_k is not None:
        scaled = np.where(scaled < np.sort(scaled)[-top_k], -np.inf, scaled)
    e = np.exp(scaled - scaled.max())
    return e / e.sum()


def wrong_sampling_probs(logits, temperature=1.0, top_k=None):
    """Cuts to the top k after the softmax and does not renormalise."""
    e = np.exp(logits / temperature - (logits / temperature).max())
    probs = e / e.sum()
    if top_k is not None:
        probs = np.where(logits < np.sort(logits)[-top_k], 0.0, probs)
    return probs


def exercise_gpt_parameters(vocab_size, block_size, n_layer, n_embd):
    c = n_embd
    per_block = 2 * c + (3 * c * c + 3 * c) + (c * c + c) + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c)
    return vocab_size * c + block_size * c + n_layer * per_block + 2 * c


def wrong_gpt_parameters(vocab_size, block_size, n_layer, n_embd):
    """Counts the tied output layer a second time."""
    return exercise_gpt_parameters(vocab_size, block_size, n_layer, n_embd) + vocab_size * n_embd
