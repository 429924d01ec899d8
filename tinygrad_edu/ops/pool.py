"""2-D pooling: max pooling and average pooling over KH×KW windows of each channel.

A window of size (KH, KW) moves over each (H, W) plane with stride (sh, sw) after padding by
(ph, pw) on both sides, giving OH = (H + 2·ph - KH) // sh + 1 positions down (the same for OW),
the rule of ``window.output_length`` (``window.pool_geometry`` computes and checks it once).
Channels never mix.

**Max pooling.**  y[n, c, i, j] = max over the window of x, padding counting as -inf (so a
padded border never wins). The forward pass also records *which* pixel won each window:
``argmax[n, c, i, j] = h·W + w``, the flat index of the winner in the unpadded (H, W) plane.

Backward: y is just the winner's value, so dy/dx = 1 for the winner and 0 for the rest of the
window:  dL/dx[winner] += dL/dy. When windows overlap (stride < kernel) one pixel can win several
windows, so the gradients are *scatter-added*, never assigned. With ties the first maximum in
row-major order wins, as in PyTorch.

That backward is itself a function of dL/dy, linear, with its own derivative: scattering g
onto the winners is undone by gathering, dg = grad[winners]. Writing it as a second Function
(``MaxPool2dBackward``) makes max pooling twice differentiable.

**Average pooling.**  y[n, c, i, j] = (1 / (KH·KW)) · Σ over the window of the zero-padded x.
Padded zeros count in the denominator (PyTorch's default ``count_include_pad=True``). It is
composed of Tensor operations, a sum of KH·KW strided slices, so its gradient (each pixel gets
1/(KH·KW) of the gradient of every window it is in) comes from the engine.

Like ``conv.py``, the max-pooling array functions are the reference that the Numba kernels are
checked against; ``MaxPool2d`` calls the implementation passed as ``impl``.
"""
from __future__ import annotations

from types import SimpleNamespace

from .. import backend
from ..backend import array_module, device_of
from ..autograd import Function
from ..tensor import Tensor
from .movement import pad
from .window import ConvGeometry, pair, pool_geometry, window_slice


def max_pool2d_forward(x, geometry: ConvGeometry):
    """(y, argmax) for x (N, C, H, W): y (N, C, OH, OW) the window maxima, argmax (int64, same
    shape) the flat index h·W + w of each winner in the unpadded plane. ``geometry``:
    ``window.pool_geometry``."""
    xp = array_module(device_of(x))
    n, c, h, w = x.shape
    (kh_count, kw_count), (sh, sw) = geometry.kernel, geometry.stride
    (ph, pw), (oh, ow) = geometry.padding, geometry.output
    x_padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf)
    top = xp.arange(oh) * sh - ph                        # (OH,) first row of each window
    left = xp.arange(ow) * sw - pw                       # (OW,) first column of each window

    y = xp.full((n, c, oh, ow), -xp.inf, dtype=x.dtype)
    # a window of nothing but -inf or NaN reports its first pixel inside the image
    first = xp.maximum(top, 0)[:, None] * w + xp.maximum(left, 0)[None, :]  # (OH, OW)
    argmax = xp.broadcast_to(first, (n, c, oh, ow)).astype(xp.int64)
    for kh in range(kh_count):
        for kw in range(kw_count):
            candidate = x_padded[:, :, window_slice(kh, sh, oh), window_slice(kw, sw, ow)]
            better = candidate > y                       # strict: the first maximum keeps a tie
            y = xp.where(better, candidate, y)                              # (N, C, OH, OW)
            position = (top[:, None] + kh) * w + (left[None, :] + kw)       # (OH, OW)
            argmax = xp.where(better, position, argmax)                     # (N, C, OH, OW)
    return y, argmax


def max_pool2d_backward(grad_y, argmax, x_shape):
    """dL/dx (``x_shape``) from dL/dy: each window's gradient added onto its winner."""
    xp = array_module(device_of(grad_y))
    n, c, h, w = x_shape
    plane_start = (xp.arange(n * c) * (h * w)).reshape(n, c, 1, 1)         # (N, C, 1, 1)
    grad_x = xp.zeros(n * c * h * w, dtype=grad_y.dtype)
    backend.scatter_add(grad_x, (plane_start + argmax).ravel(), grad_y.ravel())
    return grad_x.reshape(x_shape)


# The reference functions as an ``impl``: the same two names a kernel module provides.
REFERENCE = SimpleNamespace(max_pool2d_forward=max_pool2d_forward,
                            max_pool2d_backward=max_pool2d_backward)


class MaxPool2d(Function):
    """y = max over each window;   dx = dy scattered onto the winners (``MaxPool2dBackward``)."""

    def forward(self, x, geometry, impl=None):
        self.impl = impl or REFERENCE
        y, self.argmax = self.impl.max_pool2d_forward(x, geometry)
        return y

    def backward(self, grad):
        return MaxPool2dBackward.apply(grad, argmax=self.argmax, x_shape=self.inputs[0].shape,
                                       impl=self.impl)


class MaxPool2dBackward(Function):
    """z = g scattered onto the winners (the gradient of max pooling, linear in g);
    dg = grad gathered at the winners."""

    def forward(self, grad_y, argmax, x_shape, impl):
        self.argmax = argmax
        return impl.max_pool2d_backward(grad_y, argmax, x_shape)

    def backward(self, grad):
        n, c, h, w = grad.shape
        xp = grad.xp
        winners = (xp.arange(n)[:, None, None], xp.arange(c)[None, :, None],
                   self.argmax.reshape(n, c, -1))
        return grad.reshape(n, c, h * w)[winners].reshape(self.argmax.shape)


def _pool_geometry(op: str, x: Tensor, kernel_size, stride, padding) -> ConvGeometry:
    """The validated window geometry; stride defaults to the kernel size."""
    kernel = pair(kernel_size, op, "kernel_size")
    stride = kernel if stride is None else pair(stride, op, "stride")
    return pool_geometry(x.shape, kernel, stride, pair(padding, op, "padding"), op)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, impl=None) -> Tensor:
    """Max pooling, PyTorch's ``F.max_pool2d``: x (N, C, H, W) -> (N, C, OH, OW).

    ``stride`` defaults to ``kernel_size``; ``padding`` pads with -inf (at most half the kernel).
    ``impl``: the array functions to use (a kernel module), or None for the reference.
    """
    geometry = _pool_geometry("max_pool2d", x, kernel_size, stride, padding)
    return MaxPool2d.apply(x, geometry=geometry, impl=impl)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Average pooling, PyTorch's ``F.avg_pool2d`` (padded zeros are counted in the mean):
    x (N, C, H, W) -> (N, C, OH, OW). ``stride`` defaults to ``kernel_size``."""
    geometry = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding)
    (kh_count, kw_count), (sh, sw) = geometry.kernel, geometry.stride
    (ph, pw), (oh, ow) = geometry.padding, geometry.output
    if (ph, pw) != (0, 0):
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))                   # (N, C, Hp, Wp)
    total = None
    for kh in range(kh_count):
        for kw in range(kw_count):
            window = x[:, :, window_slice(kh, sh, oh), window_slice(kw, sw, ow)]  # (N, C, OH, OW)
            total = window if total is None else total + window
    return total / (kh_count * kw_count)
