"""Synthetic sequence tasks: quick, exactly checkable problems for sequence models.

Each task returns ``(inputs, targets)``, int64 arrays with one row per example, drawn with a
NumPy generator seeded by ``seed``. The rule that makes a target from its input is simple and
known, so a model that learns it is provably doing the task, and one that does not points to a
bug long before a real dataset would.

copy, reverse, sort
    vocabulary: the symbols ``0 .. num_symbols - 1``; inputs ``(n, length)`` drawn uniformly.
        copy       targets[i] = inputs[i]                   (memory: carry tokens along)
        reverse    targets[i] = inputs[i][::-1]             (memory, read out backwards)
        sort       targets[i] = sorted(inputs[i])           (compare every pair)

addition
    vocabulary ``ADDITION_SYMBOLS = "0123456789+="``: id 0-9 is that digit, 10 is '+', 11 is '='.
    Two numbers a, b with ``digits`` digits each (zero-padded) are written as the input
    ``"a+b="`` (length 2·digits + 2); the target is the sum with ``digits + 1`` digits,
    zero-padded: 12 + 34 -> input "12+34=", target "046". With ``reverse_answer=True`` the sum
    is written least significant digit first ("640"), the order in which a model that writes
    left to right can compute carries.
"""
from __future__ import annotations

import numpy as np

ADDITION_SYMBOLS = "0123456789+="
PLUS, EQUALS = 10, 11


def _check(n: int, length: int, num_symbols: int, name: str) -> None:
    if n < 0 or length < 1 or num_symbols < 1:
        raise ValueError(f"{name}: need n >= 0, length >= 1 and num_symbols >= 1, got n={n}, "
                         f"length={length}, num_symbols={num_symbols}")


def _random_symbols(n, length, num_symbols, seed, name) -> np.ndarray:
    _check(n, length, num_symbols, name)
    return np.random.default_rng(seed).integers(0, num_symbols, size=(n, length), dtype=np.int64)


def copy_task(n: int, length: int = 8, num_symbols: int = 8, seed: int | None = None):
    """Inputs ``(n, length)`` of random symbols; the targets are the same sequences."""
    inputs = _random_symbols(n, length, num_symbols, seed, "copy_task")
    return inputs, inputs.copy()


def reverse_task(n: int, length: int = 8, num_symbols: int = 8, seed: int | None = None):
    """Inputs ``(n, length)`` of random symbols; the targets are each sequence reversed."""
    inputs = _random_symbols(n, length, num_symbols, seed, "reverse_task")
    return inputs, inputs[:, ::-1].copy()


def sort_task(n: int, length: int = 8, num_symbols: int = 8, seed: int | None = None):
    """Inputs ``(n, length)`` of random symbols; the targets are each sequence sorted."""
    inputs = _random_symbols(n, length, num_symbols, seed, "sort_task")
    return inputs, np.sort(inputs, axis=1)


def _digits_of(numbers: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of each number, most significant first, zero-padded: ``(n, width)``."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)   # (width,)
    return (numbers[:, None] // powers) % 10


def addition_task(n: int, digits: int = 2, reverse_answer: bool = False, seed: int | None = None):
    """Inputs ``"a+b="`` ``(n, 2·digits + 2)`` and targets ``a + b`` ``(n, digits + 1)`` as ids."""
    if n < 0 or not 1 <= digits <= 17:
        raise ValueError(f"addition_task: need n >= 0 and 1 <= digits <= 17, got n={n}, "
                         f"digits={digits}")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 10 ** digits, size=n, dtype=np.int64)   # (n,)
    b = rng.integers(0, 10 ** digits, size=n, dtype=np.int64)   # (n,)
    plus, equals = np.full((n, 1), PLUS), np.full((n, 1), EQUALS)
    inputs = np.concatenate([_digits_of(a, digits), plus, _digits_of(b, digits), equals], axis=1)
    targets = _digits_of(a + b, digits + 1)                     # (n, digits + 1)
    if reverse_answer:
        targets = targets[:, ::-1]
    return inputs.astype(np.int64), np.ascontiguousarray(targets, dtype=np.int64)


def decode_addition(ids) -> str:
    """The text of addition-task ids, e.g. ``[1, 2, 10, 3, 4, 11] -> "12+34="``."""
    return "".join(ADDITION_SYMBOLS[int(i)] for i in np.asarray(ids).reshape(-1))
