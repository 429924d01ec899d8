"""``einsum``: Einstein summation, composed from permute, reshape, matmul and sum.

``einsum("bij,bjk->bik", a, b)`` names every dim of every operand with a letter. A letter in the
output is kept; a letter that appears only in the inputs is summed over. For two operands each
letter is one of four kinds, and the product is one batched matrix multiplication:

    batch     in a, in b and in the output      ("b")    the leading (B) dims of a matmul
    contract  in a and in b, not in the output  ("j")    the inner (K) dim, summed by matmul
    left      in a and in the output only       ("i")    the rows (N) of a
    right     in b and in the output only       ("k")    the columns (M) of b

so a is permuted to (batch, left, contract) and reshaped to (B, N, K), b to (B, K, M), and
(B, N, M) is reshaped and permuted into the output's order. A letter that appears in one operand
only and not in the output is summed away first. More operands are multiplied left to right.

No ``Function`` of its own: every step is an existing differentiable operation, so the gradient
(and the second derivative) comes from their backward rules. Not supported: a letter repeated
within one operand (a diagonal, as in ``"ii->i"``); that raises a ValueError.
"""
from __future__ import annotations

import math

from ..tensor import Tensor
from .matmul import matmul


def _parse(equation: str, operands) -> tuple[list[str], str]:
    """The letters of each operand and of the output, with ``...`` spelled out as capitals."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(terms)} operands, got {len(operands)}")
    broadcast = max((t.ndim - len(term.replace("...", "")) for term, t in zip(terms, operands)
                     if "..." in term), default=0)
    spare = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation)[:broadcast]
    letters = []
    for term, t in zip(terms, operands):
        if "..." in term:
            term = term.replace("...", spare[broadcast - (t.ndim - len(term) + 3):])
        if len(term) != t.ndim:
            raise ValueError(f"einsum: {term!r} names {len(term)} dims, but the operand has shape "
                             f"{t.shape}")
        if len(set(term)) != len(term):
            raise ValueError(f"einsum: a letter repeated within one operand ({term!r}) takes a "
                             f"diagonal, which is not supported")
        letters.append(term)
    if not arrow:   # implicit output: the letters used once, in alphabetical order
        joined = "".join(letters)
        output = spare + "".join(sorted(c for c in set(joined) if joined.count(c) == 1
                                        and c not in spare))
    output = output.replace("...", spare)
    return letters, output


def _sum_unused(t: Tensor, term: str, keep: str) -> tuple[Tensor, str]:
    """Sum the dims of ``t`` whose letters are not in ``keep``."""
    dropped = [i for i, c in enumerate(term) if c not in keep]
    if dropped:
        t = t.sum(dim=tuple(dropped))
    return t, "".join(c for c in term if c in keep)


def _arrange(t: Tensor, term: str, groups: list[str]) -> Tensor:
    """``t`` permuted to the letters of ``groups`` in order, each group merged into one dim."""
    order = "".join(groups)
    t = t.permute(*[term.index(c) for c in order]) if order != term else t
    sizes = [math.prod(t.shape[len("".join(groups[:g])):len("".join(groups[:g + 1]))])
             for g in range(len(groups))]
    return t.reshape(*sizes)


def _pair(a: Tensor, ta: str, b: Tensor, tb: str, keep: str) -> tuple[Tensor, str]:
    """The product of two operands, with the letters in ``keep`` kept (the rest summed)."""
    a, ta = _sum_unused(a, ta, tb + keep)
    b, tb = _sum_unused(b, tb, ta + keep)
    batch = "".join(c for c in ta if c in tb and c in keep)
    contract = "".join(c for c in ta if c in tb and c not in keep)
    left = "".join(c for c in ta if c not in tb)
    right = "".join(c for c in tb if c not in ta)
    sizes = {c: n for term, t in ((ta, a), (tb, b)) for c, n in zip(term, t.shape)}
    for c in batch + contract:
        if a.shape[ta.index(c)] != b.shape[tb.index(c)]:
            raise ValueError(f"einsum: dim {c!r} has length {a.shape[ta.index(c)]} in one operand "
                             f"and {b.shape[tb.index(c)]} in the other")
    product = matmul(_arrange(a, ta, [batch, left, contract]),        # (B, N, K)
                     _arrange(b, tb, [batch, contract, right]))       # (B, K, M) -> (B, N, M)
    term = batch + left + right
    return product.reshape(*[sizes[c] for c in term]), term


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over ``operands`` (Tensors, or one list of them), as ``torch.einsum``:
    ``einsum("ij,jk->ik", a, b)`` is a @ b, ``einsum("bhqd,bhkd->bhqk", q, k)`` attention scores,
    ``einsum("i,i->", x, y)`` a dot product, ``einsum("ij->ji", a)`` a transpose."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    letters, output = _parse(equation, operands)
    if any(output.count(c) > 1 or c not in "".join(letters) for c in output):
        raise ValueError(f"einsum: the output {output!r} repeats a letter or names one no "
                         f"operand has")
    result, term = operands[0], letters[0]
    for i in range(1, len(operands)):
        needed = output + "".join(letters[i + 1:])
        result, term = _pair(result, term, operands[i], letters[i], needed)
    result, term = _sum_unused(result, term, output)
    return result.permute(*[term.index(c) for c in output]) if term != output else result
