"""The gradient checks of every operation, layer, loss and model: ``tinygrad-edu gradcheck``.

Each entry of :data:`CHECKS` builds, from a seeded NumPy generator, a function of Tensors and
its float64 inputs at a tiny size. :func:`jacobian_errors` then compares the Jacobian that
backward gives (one vector-Jacobian product per output element) with central finite
differences (two forward passes per input element, see gradcheck.py), and reports the largest
absolute error |a - n| and the largest relative error |a - n| / max(|a|, |n|) over the entries
where either is above the absolute tolerance. An entry passes under gradcheck's own rule,
|a - n| <= atol + rtol·|n| everywhere.

Inputs stay away from the places where a derivative does not exist or is not unique: no
ReLU/abs input near 0, no ties inside a max, no clip input near a bound, denominators and
logarithm arguments away from 0. Models and the larger layers are checked with ``fast=True``:
one random projection vᵀ J u per input, which costs a few passes however large the model is.
Entries named ``*_second_derivative`` check second derivatives: their function is the first
derivative, computed with ``create_graph=True`` (:func:`second_order`).
"""
from __future__ import annotations

import time

import numpy as np

from .. import backend
from ..gradcheck import jacobians
from .registry import ATOL, CHECKS, EPS, RTOL, Check  # noqa: F401  (Check: part of the interface)
from . import ops, layers, added  # noqa: F401  (each adds its entries to CHECKS)


# ----------------------------------------------------------------------------- running

def jacobian_errors(fn, inputs, eps=EPS, atol=ATOL, rtol=RTOL, fast=False, seed=0) -> dict:
    """Analytic against numeric Jacobian of ``fn`` at ``inputs``: ``{"max_abs", "max_rel",
    "passed"}`` (the rule of ``tg.gradcheck``), without raising."""
    max_abs = max_rel = 0.0
    passed = True
    for _, analytic, numeric in jacobians(fn, inputs, eps, fast, seed):
        difference = np.abs(analytic - numeric)
        scale = np.maximum(np.abs(analytic), np.abs(numeric))
        passed &= bool(np.all(difference <= atol + rtol * np.abs(numeric)))
        max_abs = max(max_abs, float(difference.max(initial=0.0)))
        relevant = scale > atol
        if relevant.any():
            max_rel = max(max_rel, float((difference[relevant] / scale[relevant]).max()))
    return {"max_abs": max_abs, "max_rel": max_rel, "passed": passed}


def run_check(name: str, seed: int = 0) -> dict:
    """Build and run one check; an exception counts as a failure with its message."""
    check = CHECKS[name]
    backend.manual_seed(seed)
    try:
        fn, inputs = check.build(np.random.default_rng(seed))
        return {**jacobian_errors(fn, inputs, fast=check.fast, seed=seed), "error": None}
    except Exception as error:   # reported in the table; the other checks still run
        return {"max_abs": float("nan"), "max_rel": float("nan"), "passed": False,
                "error": f"{type(error).__name__}: {error}"}


def run_checks(names=None, out=print) -> bool:
    """Run the named checks (default: all), print a table, and return True if all pass."""
    names = list(CHECKS) if names is None else list(names)
    width = max(len(name) for name in names) + 2
    out(f"{'check':<{width}}{'kind':<7}{'max abs err':>13}{'max rel err':>13}  result")
    failures, start = [], time.perf_counter()
    for name in names:
        result = run_check(name)
        kind = "fast" if CHECKS[name].fast else "full"
        status = "pass" if result["passed"] else "FAIL"
        out(f"{name:<{width}}{kind:<7}{result['max_abs']:>13.2e}{result['max_rel']:>13.2e}  "
            f"{status}" + (f"  ({result['error']})" if result["error"] else ""))
        if not result["passed"]:
            failures.append(name)
    out(f"{len(names) - len(failures)} of {len(names)} passed in "
        f"{time.perf_counter() - start:.1f} s (float64, central differences, eps {EPS}; pass: "
        f"|analytic - numeric| <= {ATOL} + {RTOL}·|numeric|)"
        + (f"; failed: {', '.join(failures)}" if failures else ""))
    return not failures
