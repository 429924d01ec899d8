"""2-D convolution, the readable reference: im2col, one matrix product, col2im.

A convolution slides F filters of shape (C, KH, KW) over an image of shape (C, H, W) and takes a
dot product at every position (deep-learning "convolution" is really cross-correlation: the
kernel is not flipped). With stride s, zero padding p and dilation d, along the height axis

    OH = (H + 2·p - d·(KH - 1) - 1) // s + 1          (the same rule gives OW)

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

The array functions ``conv2d_forward`` and ``conv2d_backward`` are the *definition* of this
operation: the Numba kernels in ``tinygrad_edu.kernels`` implement the same two signatures and
are tested against these. ``Conv2d`` is the ``Function`` that calls either of them (``impl``).
Its backward is computed on arrays, so the result is first-order only: ``conv2d`` is **not twice
differentiable**, and backward with ``create_graph=True`` through it raises an error.
"""
from __future__ import annotations

from numbers import Integral
from types import SimpleNamespace

from ..amp.autocast import cast_inputs, low_precision
from ..autograd import Function, ShapeError, is_grad_enabled
from ..backend import array_module, device_of
from ..tensor import Tensor


def pair(value, op: str, name: str) -> tuple[int, int]:
    """An int or a pair of ints as an (h, w) pair, e.g. ``stride=2`` -> (2, 2)."""
    if isinstance(value, Integral):
        value = (value, value)
    values = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != 2 or not all(isinstance(v, Integral) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


def output_length(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """How many window positions fit along one axis: (size + 2p - d·(k-1) - 1) // s + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def window_slice(offset: int, stride: int, count: int) -> slice:
    """The positions ``offset, offset + stride, ...`` (``count`` of them) along one axis."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def im2col(x_padded, kernel_size, stride, dilation, out_size):
    """(N, C, Hp, Wp) -> (N, C, KH, KW, OH, OW): for each kernel offset, the pixels it touches."""
    xp = array_module(device_of(x_padded))
    (kh_count, kw_count), (oh, ow) = kernel_size, out_size
    n, c = x_padded.shape[:2]
    cols = xp.empty((n, c, kh_count, kw_count, oh, ow), dtype=x_padded.dtype)
    for kh in range(kh_count):
        rows = window_slice(kh * dilation[0], stride[0], oh)
        for kw in range(kw_count):
            columns = window_slice(kw * dilation[1], stride[1], ow)
            cols[:, :, kh, kw] = x_padded[:, :, rows, columns]              # (N, C, OH, OW)
    return cols


def col2im(cols, padded_shape, stride, dilation):
    """The adjoint of im2col: (N, C, KH, KW, OH, OW) -> (N, C, Hp, Wp), adding every entry back
    onto the pixel it was copied from (overlapping windows accumulate)."""
    xp = array_module(device_of(cols))
    kh_count, kw_count, oh, ow = cols.shape[2:]
    x_padded = xp.zeros(padded_shape, dtype=cols.dtype)
    for kh in range(kh_count):
        rows = window_slice(kh * dilation[0], stride[0], oh)
        for kw in range(kw_count):
            columns = window_slice(kw * dilation[1], stride[1], ow)
            x_padded[:, :, rows, columns] += cols[:, :, kh, kw]             # (N, C, OH, OW)
    return x_padded


def _pad_hw(x, padding):
    """Zero padding on the two spatial axes of (N, C, H, W)."""
    if padding == (0, 0):
        return x
    xp = array_module(device_of(x))
    (ph, pw) = padding
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _grouped_columns(x, weight, stride, padding, dilation, groups):
    """The im2col matrix with a group axis, (N, G, C/G·KH·KW, OH·OW), and the output size."""
    n, _, h, w = x.shape
    _, _, kh, kw = weight.shape
    out_size = (output_length(h, kh, stride[0], padding[0], dilation[0]),
                output_length(w, kw, stride[1], padding[1], dilation[1]))
    cols = im2col(_pad_hw(x, padding), (kh, kw), stride, dilation, out_size)
    return cols.reshape(n, groups, -1, out_size[0] * out_size[1]), out_size


def conv2d_forward(x, weight, stride, padding, dilation, groups):
    """y = conv2d(x, weight): x (N, C, H, W), weight (F, C/G, KH, KW) -> y (N, F, OH, OW).

    ``stride``, ``padding``, ``dilation`` are (h, w) pairs of ints; no bias (it is added outside).
    """
    n = x.shape[0]
    f = weight.shape[0]
    cols, (oh, ow) = _grouped_columns(x, weight, stride, padding, dilation, groups)  # (N, G, K, L)
    w_matrix = weight.reshape(groups, f // groups, -1)                 # (G, F/G, K)
    y = w_matrix @ cols                                                # (N, G, F/G, L)
    return y.reshape(n, f, oh, ow)


def conv2d_backward(grad_y, x, weight, stride, padding, dilation, groups):
    """(dL/dx, dL/dweight) for y = conv2d_forward(x, weight, ...) and grad_y = dL/dy."""
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    cols, (oh, ow) = _grouped_columns(x, weight, stride, padding, dilation, groups)  # (N, G, K, L)
    grad_y = grad_y.reshape(n, groups, f // groups, oh * ow)           # (N, G, F/G, L)
    w_matrix = weight.reshape(groups, f // groups, -1)                 # (G, F/G, K)

    grad_w = (grad_y @ cols.swapaxes(-1, -2)).sum(axis=0)              # (G, F/G, K)
    grad_cols = w_matrix.swapaxes(-1, -2) @ grad_y                     # (N, G, K, L)
    grad_cols = grad_cols.reshape(n, c, kh, kw, oh, ow)
    padded_shape = (n, c, h + 2 * padding[0], w + 2 * padding[1])
    grad_x = col2im(grad_cols, padded_shape, stride, dilation)[
        :, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]     # (N, C, H, W)
    return grad_x, grad_w.reshape(weight.shape)


# The reference functions as an ``impl``: the same two names a kernel module provides.
REFERENCE = SimpleNamespace(conv2d_forward=conv2d_forward, conv2d_backward=conv2d_backward)


class Conv2d(Function):
    """y = conv2d(x, w);   (dx, dw) = conv2d_backward(dy, x, w), from ``impl``.

    ``impl`` is a module (or namespace) with ``conv2d_forward`` and ``conv2d_backward``, or None
    for this file's reference. First-order only: backward works on arrays, so its result has no
    graph, and a second derivative (``create_graph=True``) is refused rather than silently zero.
    """

    def forward(self, x, weight, stride, padding, dilation, groups, impl=None):
        self.settings = (stride, padding, dilation, groups)
        self.impl = impl or REFERENCE
        return low_precision(self.impl.conv2d_forward, x, weight, *self.settings)

    def backward(self, grad):
        if is_grad_enabled():
            raise RuntimeError("conv2d: second derivatives are not supported (backward through "
                               "conv2d was called with create_graph=True)")
        x, weight = self.inputs
        grad_x, grad_w = low_precision(self.impl.conv2d_backward, grad.data, x.data, weight.data,
                                       *self.settings)
        return Tensor._make(grad_x, x.device), Tensor._make(grad_w, weight.device)


def check_conv2d_shapes(x_shape, weight_shape, stride, padding, dilation, groups) -> None:
    """Raise a ShapeError naming conv2d and the shapes when x and weight cannot be convolved."""
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ShapeError(f"conv2d: expected input (N, C, H, W) and weight (F, C/groups, KH, KW), "
                         f"got input {x_shape} and weight {weight_shape}")
    for name, value, low in (("stride", stride, 1), ("dilation", dilation, 1),
                             ("padding", padding, 0)):
        if min(value) < low:
            raise ValueError(f"conv2d: {name} must be >= {low}, got {value}")
    channels, filters = x_shape[1], weight_shape[0]
    if groups < 1 or channels % groups or filters % groups:
        raise ShapeError(f"conv2d: groups={groups} must divide both the input channels "
                         f"({channels}) and the filters ({filters}); input {x_shape}, "
                         f"weight {weight_shape}")
    if weight_shape[1] * groups != channels:
        raise ShapeError(f"conv2d: input {x_shape} has {channels} channels, but weight "
                         f"{weight_shape} with groups={groups} expects {weight_shape[1] * groups}")
    for axis, name in ((0, "height"), (1, "width")):
        span = dilation[axis] * (weight_shape[2 + axis] - 1) + 1
        padded = x_shape[2 + axis] + 2 * padding[axis]
        if span > padded:
            raise ShapeError(f"conv2d: kernel {name} {span} (with dilation {dilation[axis]}) is "
                             f"larger than the padded input {name} {padded}; input {x_shape}, "
                             f"weight {weight_shape}, padding {padding}")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, impl=None) -> Tensor:
    """2-D convolution (cross-correlation), PyTorch's ``F.conv2d``.

    x (N, C, H, W), weight (F, C/groups, KH, KW), bias (F,) or None  ->  (N, F, OH, OW).
    ``stride``, ``padding`` (zeros), ``dilation``: an int or an (h, w) pair.
    ``impl``: the array functions to use (a kernel module), or None for the reference.
    """
    stride, padding, dilation = (pair(stride, "conv2d", "stride"),
                                 pair(padding, "conv2d", "padding"),
                                 pair(dilation, "conv2d", "dilation"))
    check_conv2d_shapes(x.shape, weight.shape, stride, padding, dilation, groups)
    x, weight = cast_inputs(x, weight)   # to float16 inside tg.autocast
    y = Conv2d.apply(x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     impl=impl)                                        # (N, F, OH, OW)
    if bias is None:
        return y
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return y + bias.reshape(-1, 1, 1)                                  # broadcast over N, OH, OW
