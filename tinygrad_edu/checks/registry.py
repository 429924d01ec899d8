"""The registry of gradient checks and the inputs they are built from.

Each file of this package adds entries with :func:`register`; ``__init__.py`` runs them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd import grad
from ..tensor import Tensor

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-4


@dataclass
class Check:
    build: object          # rng -> (fn, inputs)
    fast: bool = False     # a random projection instead of the full Jacobian


CHECKS: dict[str, Check] = {}


def register(name: str, fast: bool = False):
    """Decorator: add a builder ``rng -> (fn, inputs)`` to :data:`CHECKS` under ``name``."""
    def add(build):
        CHECKS[name] = Check(build, fast)
        return build
    return add


# ----------------------------------------------------------------------------- inputs

def leaf(rng, *shape, low=None, high=None, away_from=None) -> Tensor:
    """A float64 Tensor that requires grad: standard normal, or uniform in [low, high];
    ``away_from=c`` keeps every entry at least 0.1 from c (a kink)."""
    values = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    if away_from is not None:
        close = np.abs(values - away_from) < 0.1
        values = np.where(close, away_from + np.sign(values - away_from + 1e-12) * 0.3, values)
    return Tensor(values, requires_grad=True)


def distinct(rng, *shape) -> Tensor:
    """Entries whose differences are all at least 0.1: a max or a sort has no ties."""
    values = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 0.5 * np.prod(shape) * 0.1
    return Tensor(values.astype(np.float64), requires_grad=True)


def float64_module(module, rng, scale=0.5):
    """``module`` with float64 random weights, large enough that every gradient is checkable."""
    for p in module.parameters():
        p.data = rng.standard_normal(p.shape) * scale
    return module


def module_check(module, x):
    """(fn, inputs) that check ``module`` with respect to its input and every parameter (the
    checker perturbs the parameters' data in place, so ``module`` sees the perturbed values)."""
    def output(x, *params):
        out = module(x)
        return out[0] if isinstance(out, tuple) else out   # RNNs return (output, state)
    return output, [x, *module.parameters()]


def second_order(fn, inputs, rng):
    """(first derivatives, inputs + [v]): the function (inputs, v) -> vᵀ ∂fn/∂inputs, computed
    with ``create_graph=True``. Checking its Jacobian checks the second derivatives of ``fn``
    (what ``tg.gradgradcheck`` does)."""
    v = Tensor(rng.standard_normal(fn(*inputs).shape), requires_grad=True)

    def first_derivatives(*args):
        *xs, v = args
        return grad(fn(*xs), xs, v, create_graph=True)
    return first_derivatives, [*inputs, v]
