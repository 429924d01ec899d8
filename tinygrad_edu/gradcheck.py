"""Gradient checking: compare backward's gradients with finite differences.

For a function f of tensors and a small step eps, the central difference

    (f(x + eps·e_j) - f(x - eps·e_j)) / (2 eps)  =  df/dx_j + O(eps²)

approximates column j of the Jacobian using nothing but forward passes. ``gradcheck`` builds
that numeric Jacobian and the analytic one (one backward pass per output element) and requires
|analytic - numeric| <= atol + rtol·|numeric| everywhere. float64 is required: in float32 the
rounding error of f, about 1e-7·|f| / eps, would swamp the comparison.

The default rtol is 1e-4: float64 central differences are accurate to about 1e-8 here, and a
looser default (1e-3) could never notice a 0.1% error in a gradient.

``fast=True`` checks one random projection per input instead, vᵀ J u, which costs two forward
passes and one backward pass however large the input is.

``jacobians`` returns both Jacobians without judging them (the ``gradcheck`` command prints its
largest errors from them).

``gradgradcheck`` checks second derivatives: it gradchecks the function
(inputs, v) -> vᵀ ∂f/∂inputs, computed with ``create_graph=True``.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import ShapeError, grad, enable_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """The analytic gradient disagrees with finite differences (the message says where)."""


def _outputs(result) -> list:
    """The tensors among ``fn``'s results (a Tensor or a tuple of them)."""
    if isinstance(result, Tensor):
        return [result]
    return [out for out in result if isinstance(out, Tensor)]


def _flat_output(fn, inputs) -> np.ndarray:
    """All of ``fn``'s outputs as one float64 vector. Grad mode stays on: ``fn`` may differentiate
    something itself (gradgradcheck's ``fn`` calls ``grad`` with ``create_graph=True``)."""
    with enable_grad():
        return np.concatenate([backend.asnumpy(out.data).astype(np.float64).ravel()
                               for out in _outputs(fn(*inputs))])


def _check_dtypes(inputs) -> list:
    """The indices of the inputs that require grad; they must be float64."""
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in wrt:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences "
                            f"need float64 inputs (use Tensor(..., dtype='float64') or .double())")
    if not wrt:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    return wrt


def _analytic_vjp(fn, inputs, wrt, seeds_for) -> list:
    """The gradients of the inputs in ``wrt`` for the output seeds ``seeds_for(outputs)``."""
    with enable_grad():
        outputs = _outputs(fn(*inputs))
        try:
            grads = grad(outputs, [inputs[i] for i in wrt], seeds_for(outputs), allow_unused=True)
        except ShapeError as error:
            raise GradcheckError(f"gradcheck: backward produced a gradient of the wrong shape: "
                                 f"{error}") from error
    result = []
    for i, g in zip(wrt, grads):
        if g is None:
            result.append(np.zeros(inputs[i].shape))
        elif g.shape != inputs[i].shape:
            raise GradcheckError(f"gradcheck: the gradient of input {i} has shape {g.shape}, "
                                 f"but the input has shape {inputs[i].shape}")
        else:
            result.append(backend.asnumpy(g.data).astype(np.float64))
    return result


def _as_seeds(outputs, parts) -> list:
    """Flat NumPy pieces of dL/d(outputs) as tensors of the outputs' shapes and devices."""
    return [Tensor(out.xp.asarray(part.reshape(out.shape)), device=out.device)
            for out, part in zip(outputs, parts)]


def _perturbed(fn, inputs, i, direction, eps) -> np.ndarray:
    """(f(x_i + eps·d) - f(x_i - eps·d)) / (2 eps), restoring x_i afterwards."""
    original = inputs[i].data
    step = inputs[i].xp.asarray(direction.reshape(original.shape)) * eps
    try:
        inputs[i].data = original + step
        plus = _flat_output(fn, inputs)
        inputs[i].data = original - step
        minus = _flat_output(fn, inputs)
    finally:
        inputs[i].data = original
    return (plus - minus) / (2 * eps)


def _index(flat: int, shape: tuple) -> tuple:
    """The position of element number ``flat`` in an array of ``shape``, as plain ints."""
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _fail_if_far(i, shape, analytic, numeric, atol, rtol, where) -> None:
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    excess = np.where(np.isnan(excess), np.inf, excess)   # a NaN on either side is a failure
    if np.all(excess <= 0):
        return
    k = np.unravel_index(np.argmax(excess), analytic.shape)
    a, n = analytic[k], numeric[k]
    raise GradcheckError(
        f"gradcheck: the gradient of input {i} (shape {tuple(shape)}) is wrong {where(k)}: "
        f"analytic {a:.8g}, numeric {n:.8g}, abs error {abs(a - n):.3g}, "
        f"rel error {abs(a - n) / max(abs(n), 1e-300):.3g} (atol {atol}, rtol {rtol})")


def jacobians(fn, inputs, eps=1e-6, fast=False, seed=0) -> list:
    """(input index, analytic, numeric) for every input that requires grad: the Jacobian of
    all of ``fn``'s outputs (flattened) with respect to that input, from backward and from
    central differences, both (number of output elements, input size) float64 arrays.
    With ``fast=True`` each pair is a single number vᵀ J u, v and u random."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = _check_dtypes(inputs)
    sizes = [out.numel() for out in _outputs(fn(*inputs))]
    splits = np.cumsum(sizes)[:-1]
    rng = np.random.default_rng(seed)
    if fast:   # one random projection per input: vᵀ J u, analytic against numeric
        v = rng.standard_normal(sum(sizes))
        analytic = _analytic_vjp(fn, inputs, wrt, lambda outs: _as_seeds(outs, np.split(v, splits)))
        pairs = []
        for i, grad_i in zip(wrt, analytic):
            u = rng.standard_normal(inputs[i].shape)
            pairs.append((i, np.array([[np.sum(grad_i * u)]]),
                          np.array([[v @ _perturbed(fn, inputs, i, u, eps)]])))
        return pairs
    # full Jacobians: row r of the analytic one is the gradient of output element r
    rows = [_analytic_vjp(fn, inputs, wrt,
                          lambda outs, r=r: _as_seeds(outs, np.split(np.eye(1, sum(sizes), r)[0],
                                                                     splits)))
            for r in range(sum(sizes))]
    pairs = []
    for column, i in enumerate(wrt):
        size = inputs[i].numel()
        analytic = np.array([row[column].ravel() for row in rows]).reshape(len(rows), size)
        numeric = np.array([_perturbed(fn, inputs, i, np.eye(1, size, j)[0], eps)
                            for j in range(size)]).T.reshape(len(rows), size)
        pairs.append((i, analytic, numeric))
    return pairs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast=False, seed=0) -> bool:
    """True if ``fn``'s gradients match finite differences for every input that requires grad;
    otherwise raises ``GradcheckError`` naming the input, the element and both values.

    ``fn`` takes the tensors in ``inputs`` and returns a Tensor or a tuple of Tensors.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, analytic, numeric in jacobians(fn, inputs, eps, fast, seed):
        shape = inputs[i].shape
        where = ((lambda k: "along a random direction (vᵀ J u)") if fast else
                 (lambda k: f"at element {_index(k[1], shape)} (output element {int(k[0])})"))
        _fail_if_far(i, shape, analytic, numeric, atol, rtol, where)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-4, fast=False,
                  seed=0) -> bool:
    """Check second derivatives: gradcheck of (inputs, v) -> the gradients of vᵀ fn(inputs),
    computed with ``create_graph=True``. ``grad_outputs`` (v) is random float64 unless given."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    wrt = _check_dtypes(inputs)
    outputs = _outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [Tensor(out.xp.asarray(rng.standard_normal(out.shape)), requires_grad=True,
                               device=out.device) for out in outputs]
    grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    count = len(inputs)

    def first_derivatives(*args):
        xs, vs = list(args[:count]), list(args[count:])
        grads = grad(_outputs(fn(*xs)), [xs[i] for i in wrt], vs, create_graph=True,
                     allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps, atol, rtol, fast, seed)
