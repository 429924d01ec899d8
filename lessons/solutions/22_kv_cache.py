"""Reference solutions of lesson 22 (and one plausible wrong answer each)."""
import numpy as np


def exercise_positions_fed(prompt_len, new_tokens, use_cache):
    if use_cache:
        return prompt_len + (new_tokens - 1)
    return sum(prompt_len + step for step in range(new_tokens))


def exercise_cached_attention(q, k_cache, v_cache, k_new, v_new):
    keys = np.vstack([k_cache, k_new])                   # (T + 1, D)
    values = np.vstack([v_cache, v_new])                 # (T + 1, D)
    scores = keys @ q / np.sqrt(len(q))                  # (T + 1,)
    weights = np.exp(scores - scores.max())
    return (weights / weights.sum()) @ values            # (D,)


def wrong_positions_fed(prompt_len, new_tokens, use_cache):
    """Forgets that the cached run still feeds the whole prompt once."""
    return new_tokens if use_cache else sum(prompt_len + step for step in range(new_tokens))


def wrong_cached_attention(q, k_cache, v_cache, k_new, v_new):
    """Attends to the cache only, leaving out the new token's own key and value."""
    scores = k_cache @ q / np.sqrt(len(q))
    weights = np.exp(scores - scores.max())
    return (weights / weights.sum()) @ v_cache
