"""Activation operations with their own backward rules: erf, softplus and the tanh GELU.

Most activations are one line composed from primitives whose backward rules already exist
(``nn/activation.py`` has them). These three get their own ``Function``:

- ``Erf``: NumPy has no erf, so its forward comes from the backend (SciPy / CuPy);
  d/dx erf(x) = 2/√π · e^(-x²). Exact GELU is composed from it.
- ``LogOnePlusExp`` (softplus) is computed in the overflow-free form max(x, 0) + log1p(e^-|x|)
  with its gradient σ(x) written directly, so it is exact everywhere, including x = 0 where the
  pieces max and |x| have kinks (the composed form ``(1 + x.exp()).log()`` overflows for x > 88
  in float32).
- ``GeluTanh`` is the tanh GELU as one operation with its derivative written out: composed from
  primitives (``gelu_tanh_inner``, ``tanh``, ``*``), its backward pass would walk some twenty
  elementwise steps over the largest activation of a transformer, (B, T, 4C), and it dominated
  the MLP half of a GPT step.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

from .. import backend
from ..autograd import Function


class Erf(Function):
    """z = erf(a) = 2/√π ∫₀ᵃ e^(-t²) dt;   dz/da = 2/√π · e^(-a²)."""

    def forward(self, a):
        return backend.erf(a)

    def backward(self, grad):
        (a,) = self.inputs
        return grad * (2 / math.sqrt(math.pi)) * (-(a * a)).exp()


class LogOnePlusExp(Function):
    """Softplus: z = log(1 + e^a), computed as max(a, 0) + log1p(e^-|a|) so e^a never overflows;
    dz/da = σ(a)."""

    def forward(self, a):
        xp = self.xp
        return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, grad):
        return grad * self.inputs[0].sigmoid()


SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
GELU_CUBIC = 0.044715   # the weight of x³ in GPT-2's tanh approximation


def gelu_tanh_inner(x):
    """u = √(2/π)(x + 0.044715 x³), for an array or a Tensor."""
    return (x + GELU_CUBIC * (x * x * x)) * SQRT_2_OVER_PI


def gelu_tanh_slope(x, tanh_u):
    """d/dx [x/2 · (1 + tanh u)] = (1 + t)/2 + x/2 · (1 - t²) · du/dx,  t = tanh u,
    du/dx = √(2/π)(1 + 3·0.044715 x²). Only +, -, *: works on arrays and on Tensors alike."""
    du_dx = (1 + (3 * GELU_CUBIC) * (x * x)) * SQRT_2_OVER_PI
    return (1 + tanh_u) * 0.5 + (x * 0.5) * (1 - tanh_u * tanh_u) * du_dx


def _tanh(array):
    return backend.array_module(backend.device_of(array)).tanh(array)


def gelu_tanh_forward(x):
    """The reference on arrays: z = x/2 · (1 + tanh u)."""
    return x * 0.5 * (1 + _tanh(gelu_tanh_inner(x)))


def gelu_tanh_backward(grad, x):
    """The reference on arrays: dL/dx = dL/dz · dz/dx, with tanh u computed again from x."""
    return grad * gelu_tanh_slope(x, _tanh(gelu_tanh_inner(x)))


# The reference as an ``impl``: the names a kernel module provides (``kernels/gelu_cpu.py``).
REFERENCE = SimpleNamespace(gelu_tanh_forward=gelu_tanh_forward,
                            gelu_tanh_backward=gelu_tanh_backward)


class GeluTanh(Function):
    """z = x/2 · (1 + tanh u),  u = √(2/π)(x + 0.044715 x³)   (GPT-2's GELU);
    dz/dx = ``gelu_tanh_slope(x, tanh u)``.

    ``impl`` computes both directions on arrays: the reference above, or a kernel module
    (``kernels/gelu_cpu.py``). Neither keeps tanh u from forward to backward: recomputing it
    from x costs less than holding a second array of the activation's size. ``backward``,
    taken when the gradient's graph is recorded (``create_graph=True``), builds the same slope
    from Tensor operations, so the gradient stays differentiable."""

    fresh_gradients = True   # both implementations return a new array

    def forward(self, a, impl=None):
        self.impl = impl or REFERENCE
        return self.impl.gelu_tanh_forward(a)

    def backward_arrays(self, grad):
        return self.impl.gelu_tanh_backward(grad, self.inputs[0].data)

    def backward(self, grad):
        (x,) = self.inputs
        return grad * gelu_tanh_slope(x, gelu_tanh_inner(x).tanh())
