"""Reference solutions of lesson 20 (and one plausible wrong answer each)."""
import numpy as np


def _softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def exercise_soft_targets(logits, temperature):
    return _softmax(np.asarray(logits) / temperature)


def exercise_distillation_loss(student, teacher, labels, temperature, alpha):
    p_t, p_s = _softmax(teacher / temperature), _softmax(student / temperature)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum() / len(student)
    ce = -np.log(_softmax(student)[np.arange(len(student)), labels]).mean()
    return alpha * temperature ** 2 * kl + (1 - alpha) * ce


def wrong_soft_targets(logits, temperature):
    """Softmax first, then divide by T: not a distribution any more."""
    return _softmax(np.asarray(logits)) / temperature


def wrong_distillation_loss(student, teacher, labels, temperature, alpha):
    """Leaves out the T², so the soft term is 1/T² too weak."""
    p_t, p_s = _softmax(teacher / temperature), _softmax(student / temperature)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum() / len(student)
    ce = -np.log(_softmax(student)[np.arange(len(student)), labels]).mean()
    return alpha * kl + (1 - alpha) * ce
