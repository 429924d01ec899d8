"""Reference solutions of lesson 19 (and one plausible wrong answer each)."""


def exercise_lora_parameters(in_features, out_features, rank):
    return rank * in_features + out_features * rank


def exercise_merge(weight, lora_A, lora_B, alpha, rank):
    return weight + (alpha / rank) * (lora_B @ lora_A)


def wrong_lora_parameters(in_features, out_features, rank):
    """Counts the full matrix the adapter replaces."""
    return in_features * out_features


def wrong_merge(weight, lora_A, lora_B, alpha, rank):
    """Forgets the alpha / rank scaling."""
    return weight + lora_B @ lora_A
