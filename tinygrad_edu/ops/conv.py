"""2-D convolution, the readable reference: im2col, one matrix product, col2im.

A convolution slides F filters of shape (C, KH, KW) over an image of shape (C, H, W) and takes a
dot product at every position (deep-learning "convolution" is really cross-correlation: the
kernel is not flipped). With stride s, zero padding p and dilation d, along the height axis

    OH = (H + 2·p - d·(KH - 1) - 1) // s + 1          (the same rule gives OW; ``window.py``
                                                       computes and checks it, once)

    y[n, f, i, j] = Σ_c Σ_kh Σ_kw  w[f, c, kh, kw] · xpad[n, c, i·s + kh·d, j·s + kw·d]

**im2col** turns that sum into a single matrix product. For every kernel offset (kh, kw) we cut
from the padded input the (OH, OW) grid of pixels that offset touches, a strided slice, and lay
the slices side by side: ``cols`` of shape (N, C·KH·KW, OH·OW), one column per output position.
Then, with the weights flattened to (F, C·KH·KW),

    y = W · cols          (F, C·KH·KW) @ (N, C·KH·KW, OH·OW) -> (N, F, OH·OW)

**Backward.** y is linear in both W and x, so each gradient is another product with the same
pieces:

    dL/dW    = Σ_n dL/dy · colsᵀ        (F, OH·OW) @ (OH·OW, C·KH·KW), summed over the batch
    dL/dcols = Wᵀ · dL/dy               (C·KH·KW, F) @ (F, OH·OW)
    dL/dx    = col2im(dL/dcols)

**col2im** is the adjoint of im2col: every column entry came from one input pixel, so it adds
each entry back onto the pixel it was copied from. Pixels shared by overlapping windows receive
the sum of their uses; the border that padding added is cut off at the end.

**Groups** split the C input channels into G groups of C/G and the F filters into G groups of
F/G; filter group g only sees channel group g. That is G independent convolutions, done as one
batched matrix product with a group axis: weights (G, F/G, C/G·KH·KW) @ cols (N, G, C/G·KH·KW,
OH·OW). groups = C = F is a depthwise convolution.

The array functions ``conv2d_forward(x, weight, geometry)`` and ``conv2d_backward(grad_y, x,
weight, geometry)`` are the *definition* of this operation (``geometry``: a ``ConvGeometry``
from ``window.py``): the Numba kernels in ``tinygrad_edu.kernels`` implement the same two
signatures and are tested against these. ``Conv2d`` is the ``Function`` that calls either of
them (``impl``); that array backward is its first-order fast path (``backward_arrays``).

**Second derivatives.** ``conv2d_composed`` is the same im2col computation written with Tensor
operations (padding, strided slices, a stack, one matrix product). When the graph of the
gradient is recorded (``create_graph=True``), the engine differentiates it instead, so the
gradient is itself differentiable and a CNN has second derivatives (a gradient penalty, double
backpropagation); ordinary training never builds it.
"""
from __future__ import annotations

from types import SimpleNamespace

from ..amp.autocast import cast_inputs, low_precision
from ..autograd import Function, ShapeError
from ..backend import array_module, device_of
from ..tensor import Tensor
from .movement import pad, stack
from .window import ConvGeometry, conv_geometry, output_length, pair, window_slice

__all__ = ["ConvGeometry", "Conv2d", "conv2d", "conv2d_backward", "conv2d_composed",
           "conv2d_forward", "output_length", "pair", "window_slice"]


def im2col(x_padded, geometry: ConvGeometry):
    """(N, C, Hp, Wp) -> (N, C, KH, KW, OH, OW): for each kernel offset, the pixels it touches."""
    xp = array_module(device_of(x_padded))
    (kh_count, kw_count), (oh, ow) = geometry.kernel, geometry.output
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    n, c = x_padded.shape[:2]
    cols = xp.empty((n, c, kh_count, kw_count, oh, ow), dtype=x_padded.dtype)
    for kh in range(kh_count):
        rows = window_slice(kh * dh, sh, oh)
        for kw in range(kw_count):
            columns = window_slice(kw * dw, sw, ow)
            cols[:, :, kh, kw] = x_padded[:, :, rows, columns]              # (N, C, OH, OW)
    return cols


def col2im(cols, padded_shape, geometry: ConvGeometry):
    """The adjoint of im2col: (N, C, KH, KW, OH, OW) -> (N, C, Hp, Wp), adding every entry back
    onto the pixel it was copied from (overlapping windows accumulate)."""
    xp = array_module(device_of(cols))
    (kh_count, kw_count), (oh, ow) = geometry.kernel, geometry.output
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    x_padded = xp.zeros(padded_shape, dtype=cols.dtype)
    for kh in range(kh_count):
        rows = window_slice(kh * dh, sh, oh)
        for kw in range(kw_count):
            columns = window_slice(kw * dw, sw, ow)
            x_padded[:, :, rows, columns] += cols[:, :, kh, kw]             # (N, C, OH, OW)
    return x_padded


def _pad_hw(x, padding):
    """Zero padding on the two spatial axes of (N, C, H, W)."""
    if padding == (0, 0):
        return x
    xp = array_module(device_of(x))
    (ph, pw) = padding
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _grouped_columns(x, geometry: ConvGeometry):
    """The im2col matrix with a group axis, (N, G, C/G·KH·KW, OH·OW)."""
    cols = im2col(_pad_hw(x, geometry.padding), geometry)
    oh, ow = geometry.output
    return cols.reshape(x.shape[0], geometry.groups, -1, oh * ow)


def conv2d_forward(x, weight, geometry: ConvGeometry):
    """y = conv2d(x, weight): x (N, C, H, W), weight (F, C/G, KH, KW) -> y (N, F, OH, OW).

    ``geometry`` (``window.conv_geometry``) holds stride, padding, dilation and groups; no bias
    (it is added outside)."""
    n, f, groups = x.shape[0], weight.shape[0], geometry.groups
    cols = _grouped_columns(x, geometry)                               # (N, G, K, L)
    w_matrix = weight.reshape(groups, f // groups, -1)                 # (G, F/G, K)
    y = w_matrix @ cols                                                # (N, G, F/G, L)
    return y.reshape((n, f) + geometry.output)


def conv2d_backward(grad_y, x, weight, geometry: ConvGeometry, input_grad: bool = True):
    """(dL/dx, dL/dweight) for y = conv2d_forward(x, weight, geometry) and grad_y = dL/dy;
    without ``input_grad`` dL/dx is not computed (None): the input needs no gradient."""
    n, c, h, w = x.shape
    f, groups, (ph, pw), (oh, ow) = weight.shape[0], geometry.groups, geometry.padding, \
        geometry.output
    cols = _grouped_columns(x, geometry)                               # (N, G, K, L)
    grad_y = grad_y.reshape(n, groups, f // groups, oh * ow)           # (N, G, F/G, L)
    w_matrix = weight.reshape(groups, f // groups, -1)                 # (G, F/G, K)

    grad_w = (grad_y @ cols.swapaxes(-1, -2)).sum(axis=0)              # (G, F/G, K)
    if not input_grad:
        return None, grad_w.reshape(weight.shape)
    grad_cols = w_matrix.swapaxes(-1, -2) @ grad_y                     # (N, G, K, L)
    grad_cols = grad_cols.reshape((n, c) + geometry.kernel + (oh, ow))  # (N, C, KH, KW, OH, OW)
    grad_x = col2im(grad_cols, (n, c) + geometry.padded, geometry)[
        :, :, ph:ph + h, pw:pw + w]                                    # (N, C, H, W)
    return grad_x, grad_w.reshape(weight.shape)


def conv2d_composed(x: Tensor, weight: Tensor, geometry: ConvGeometry) -> Tensor:
    """``conv2d_forward`` written with Tensor operations, so that the engine can differentiate
    it, and differentiate its gradient: the same im2col, built from strided slices of the
    padded input stacked along a tap axis, then one (grouped) matrix product."""
    n, c = x.shape[:2]
    f, groups, (oh, ow) = weight.shape[0], geometry.groups, geometry.output
    (sh, sw), (dh, dw), (ph, pw) = geometry.stride, geometry.dilation, geometry.padding
    if (ph, pw) != (0, 0):
        x = pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))               # (N, C, Hp, Wp)
    taps = [x[:, :, window_slice(kh * dh, sh, oh), window_slice(kw * dw, sw, ow)]
            for kh in range(geometry.kernel[0]) for kw in range(geometry.kernel[1])]
    cols = stack(taps, 2)                                              # (N, C, KH·KW, OH, OW)
    cols = cols.reshape(n, groups, -1, oh * ow)                        # (N, G, K, L)
    y = weight.reshape(groups, f // groups, -1) @ cols                 # (N, G, F/G, L)
    return y.reshape(n, f, oh, ow)


# The reference functions as an ``impl``: the same two names a kernel module provides.
REFERENCE = SimpleNamespace(conv2d_forward=conv2d_forward, conv2d_backward=conv2d_backward)


class Conv2d(Function):
    """y = conv2d(x, w) (+ b per filter);   (dx, dw) = conv2d_backward(dy, x, w) from ``impl``
    on arrays, and db = Σ over N, OH, OW of dy; or the gradient of ``conv2d_composed`` (plus
    the bias) when the gradient's graph is recorded.

    ``impl`` is a module (or namespace) with ``conv2d_forward`` and ``conv2d_backward``, or None
    for this file's reference. The bias, when given, is added in place to the fresh output, so
    it costs no second array and no separate node (nor a reduction found by ``sum_to``)."""

    def forward(self, x, weight, *bias, geometry, impl=None):
        self.geometry, self.impl = geometry, impl or REFERENCE
        y = low_precision(self.impl.conv2d_forward, x, weight, geometry)   # (N, F, OH, OW)
        if bias:
            y += bias[0].reshape(-1, 1, 1)
        return y

    def backward_arrays(self, grad):
        x, weight = self.inputs[:2]
        grads = low_precision(self.impl.conv2d_backward, grad, x.data, weight.data, self.geometry,
                              x.requires_grad)   # an input image needs no gradient: skipped
        if len(self.inputs) == 3:
            grads = tuple(grads) + (grad.sum(axis=(0, 2, 3)),)                     # (F,)
        return grads

    def composed(self, x, weight, *bias):
        y = conv2d_composed(x, weight, self.geometry)
        return y + bias[0].reshape(-1, 1, 1) if bias else y


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, impl=None) -> Tensor:
    """2-D convolution (cross-correlation), PyTorch's ``F.conv2d``.

    x (N, C, H, W), weight (F, C/groups, KH, KW), bias (F,) or None  ->  (N, F, OH, OW).
    ``stride``, ``padding`` (zeros), ``dilation``: an int or an (h, w) pair.
    ``impl``: the array functions to use (a kernel module), or None for the reference.
    """
    geometry = conv_geometry(x.shape, weight.shape, pair(stride, "conv2d", "stride"),
                             pair(padding, "conv2d", "padding"),
                             pair(dilation, "conv2d", "dilation"), groups)
    x, weight = cast_inputs(x, weight)   # to float16 inside tg.autocast
    if bias is None:
        return Conv2d.apply(x, weight, geometry=geometry, impl=impl)       # (N, F, OH, OW)
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if bias.dtype == x.dtype == weight.dtype:   # one node; else the add promotes the dtype
        return Conv2d.apply(x, weight, bias, geometry=geometry, impl=impl)
    y = Conv2d.apply(x, weight, geometry=geometry, impl=impl)
    return y + bias.reshape(-1, 1, 1)                                  # broadcast over N, OH, OW
