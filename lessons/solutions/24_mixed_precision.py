"""Reference solutions of lesson 24, and one plausible wrong answer per exercise."""
import math


def exercise_update_scale(scale, tracker, found_inf, growth_interval):
    if found_inf:
        return scale * 0.5, 0
    tracker += 1
    if tracker == growth_interval:
        return scale * 2.0, 0
    return scale, tracker


def wrong_update_scale(scale, tracker, found_inf, growth_interval):
    """Halves on inf but keeps counting the clean steps from before it."""
    if found_inf:
        return scale * 0.5, tracker
    tracker += 1
    if tracker >= growth_interval:
        return scale * 2.0, 0
    return scale, tracker


def exercise_smallest_scale(gradient):
    scale = 1.0
    while abs(gradient) * scale < 2.0 ** -14:
        scale *= 2
    return scale


def wrong_smallest_scale(gradient):
    """Aims at the smallest *subnormal* float16, 2**-24: the gradient survives with 1 bit."""
    return max(1.0, 2.0 ** math.ceil(math.log2(2.0 ** -24 / abs(gradient))))
