"""Reference solutions of lesson 09, and one plausible wrong answer per exercise."""
import math


def exercise_kaiming_std(fan_in):
    return math.sqrt(2 / fan_in)


def wrong_kaiming_std(fan_in):
    """1/fan_in, right for a linear layer, loses half the variance at every ReLU."""
    return math.sqrt(1 / fan_in)


def exercise_xavier_bound(fan_in, fan_out):
    return math.sqrt(6 / (fan_in + fan_out))


def wrong_xavier_bound(fan_in, fan_out):
    """The standard deviation used as the bound: the variance comes out 3x too small."""
    return math.sqrt(2 / (fan_in + fan_out))
