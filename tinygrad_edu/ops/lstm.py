"""The LSTM: one step composed from Tensor operations, and a whole layer as one operation.

``lstm_cell`` is the reference. One step with input x (B, I) and state (h, c), both (B, H)
(σ the sigmoid, ⊙ the elementwise product, W_ih (4H, I) and W_hh (4H, H) the four gates
stacked in PyTorch's order i, f, g, o):

    a = x W_ihᵀ + h W_hhᵀ + b_ih + b_hh,   split into a_i, a_f, a_g, a_o     each (B, H)
    i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

Unrolled over T steps (``lstm_reference``) it is an ordinary graph of some 18 operations per
step, and the engine differentiates it: backpropagation through time for free, second
derivatives included. But a training step then walks T·18 graph nodes, each with its own
small arrays, and the gradient of every gate slice is a zero array of the full gate width.

``LSTMLayer`` is the same T steps as a single ``Function``, the way cuDNN runs an LSTM. The
forward pass computes the input part x_t W_ihᵀ of all steps in one matrix product, then loops
over the steps on arrays, keeping the gate values and tanh c_t. Its output stacks every h_t
and c_t into one (2, T, B, H) array, because a Function has one output; the LSTM layer slices
its output sequence and its final state out of it.

The backward pass is backpropagation through time written out. With dL/dh_t and dL/dc_t the
gradients that arrive through the output, it goes from the last step back to the first:

    dh_t = dL/dh_t + da_{t+1} W_hh                    (h_t fed step t+1 through W_hh)
    dc_t = dL/dc_t + dc_{t+1} ⊙ f_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh² c_t)
    da_i = dc_t ⊙ g_t ⊙ i_t (1 - i_t)           da_f = dc_t ⊙ c_{t-1} ⊙ f_t (1 - f_t)
    da_g = dc_t ⊙ i_t ⊙ (1 - g_t²)              da_o = dh_t ⊙ tanh c_t ⊙ o_t (1 - o_t)

(the terms with t + 1 are 0 at the last step; σ' = σ(1 - σ) and tanh' = 1 - tanh²). The loop
works on (B, H) arrays, small enough to stay in the processor's cache. The weights are shared
by all steps, so their gradients are sums over the steps, each one large product at the end:

    dW_ih = Σ_t da_tᵀ x_t      dW_hh = Σ_t da_tᵀ h_{t-1}      db_ih = db_hh = Σ_t Σ_batch da_t
    dx_t = da_t W_ih           dh_0 = da_1 W_hh               dc_0 = dc_1 ⊙ f_1

That backward works on arrays, so it is first-order (``LSTMLayer.backward_arrays``, the fast
path of ``Function``). With ``create_graph=True`` (a second derivative) the engine
differentiates ``composed``, the unrolled ``lstm_reference``, instead: slower, but the
gradient is itself differentiable.
"""
from __future__ import annotations

import operator
from types import SimpleNamespace

from ..autograd import Function, ShapeError
from ..tensor import Tensor
from .linear import sum_over_rows
from .movement import stack


def lstm_cell(x: Tensor, state: tuple, w_ih_t: Tensor, w_hh_t: Tensor, b_ih: Tensor | None,
              b_hh: Tensor | None) -> tuple:
    """One LSTM step from Tensor operations: (h', c') from x (B, I), state (h, c) and the
    transposed weights W_ihᵀ (I, 4H), W_hhᵀ (H, 4H); the biases are both given or both None."""
    h, c = state
    hidden = h.shape[-1]
    gates = x @ w_ih_t + h @ w_hh_t                                      # (B, 4H)
    if b_ih is not None:
        gates = gates + b_ih + b_hh
    input_gate = gates[:, :hidden].sigmoid()                            # (B, H)
    forget_gate = gates[:, hidden:2 * hidden].sigmoid()                 # (B, H)
    candidate = gates[:, 2 * hidden:3 * hidden].tanh()                  # (B, H)
    output_gate = gates[:, 3 * hidden:].sigmoid()                       # (B, H)
    c = forget_gate * c + input_gate * candidate                        # (B, H)
    h = output_gate * c.tanh()                                          # (B, H)
    return h, c


def lstm_reference(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
                   b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """What ``LSTMLayer`` computes, unrolled from ``lstm_cell``: (2, T, B, H)."""
    w_ih_t, w_hh_t = w_ih.T, w_hh.T
    state, hs, cs = (h0, c0), [], []
    for t in range(x.shape[0]):
        state = lstm_cell(x[t], state, w_ih_t, w_hh_t, b_ih, b_hh)
        hs.append(state[0])
        cs.append(state[1])
    return stack([stack(hs), stack(cs)])                                # (2, T, B, H)


def _gates(a):
    """The four (B, H) views i, f, g, o of a (B, 4H) array."""
    hidden = a.shape[-1] // 4
    return (a[:, k * hidden:(k + 1) * hidden] for k in range(4))


def lstm_cell_forward(a, scale, shift, c_prev, c):
    """The elementwise middle of one forward step, on arrays: ``a`` (B, 4H) holds tanh of the
    scaled pre-activations and becomes the gates [i, f, g, o] in place (t -> t·scale + shift),
    and c (B, H) gets c_t = f ⊙ c_{t-1} + i ⊙ g."""
    a *= scale
    a += shift                                                           # now [i, f, g, o]
    i, f, g, o = _gates(a)                                               # (B, H) each
    c[...] = f * c_prev
    c += i * g


def lstm_cell_backward(grad_h, grad_c, dh_next, dc_next, gates, tanh_c, c_prev, da):
    """One step of backpropagation through time, on (B, H) arrays (the equations above):
    writes da_t (B, 4H) into ``da`` and returns dc_t ⊙ f_t, the dc_next of step t - 1.
    ``gates`` holds i, f, g, o of step t side by side (B, 4H)."""
    i, f, g, o = _gates(gates)                                           # (B, H) each
    da_i, da_f, da_g, da_o = _gates(da)
    dh = grad_h + dh_next                                                # (B, H)
    dc = dh * o * (1 - tanh_c * tanh_c) + grad_c + dc_next               # (B, H)
    da_i[...] = (dc * g) * (i * (1 - i))
    da_f[...] = (dc * c_prev) * (f * (1 - f))
    da_g[...] = (dc * i) * (1 - g * g)
    da_o[...] = (dh * tanh_c) * (o * (1 - o))
    return dc * f


class RecurrentProduct:
    """x ↦ x·M for the matrix the recurrence multiplies by at every step (W_hhᵀ forward, W_hh
    backward), with NumPy's or CuPy's product. ``kernels/mkl_gemm.py`` has one that packs M
    for the BLAS once, instead of at every step."""

    def __init__(self, matrix):
        self.matrix = matrix                                             # (K, N)

    def __call__(self, x):
        return x @ self.matrix                                           # (m, K) -> (m, N)

    def add_to(self, out, x):
        out += x @ self.matrix                                           # out (m, N)


# The reference as an ``impl``: the names a kernel module provides (``kernels/lstm_cpu.py``).
REFERENCE = SimpleNamespace(lstm_cell_forward=lstm_cell_forward,
                            lstm_cell_backward=lstm_cell_backward,
                            recurrent_product=RecurrentProduct, matmul=operator.matmul)


class LSTMLayer(Function):
    """hc = [h_1 .. h_T; c_1 .. c_T] (2, T, B, H) from x (T, B, I), h_0, c_0 (B, H), the
    weights and (optionally) the two biases; backward: backpropagation through time on arrays
    (the equations are in the module docstring). ``impl``: the module whose cell functions run
    each step and whose ``recurrent_product`` and ``matmul`` run the products (Numba kernels and
    MKL, ``kernels/lstm_cpu.py``), or None for the reference (``REFERENCE``)."""

    def forward(self, x, h0, c0, w_ih, w_hh, *biases, impl=None):
        xp, self.impl = self.xp, impl or REFERENCE
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
        dtype = xp.result_type(x, h0, c0, w_ih, w_hh, *biases)
        # σ(a) = (1 + tanh(a/2)) / 2, so one tanh serves all four gates: scale the sigmoid
        # gates' pre-activations by ½, tanh, then map t -> t/2 + ½ for them (g keeps scale 1,
        # shift 0). The ½ is folded into the weights' columns and the biases, once per call.
        scale = xp.full(4 * hidden, 0.5, dtype)
        scale[2 * hidden:3 * hidden] = 1
        shift = 1 - scale                                                # (4H,)
        w_ih_t = w_ih.T * scale                                          # (I, 4H)
        gates = self.impl.matmul(x.reshape(steps * batch, -1), w_ih_t)  # (T·B, 4H)
        gates = gates.astype(dtype, copy=False)
        gates = gates.reshape(steps, batch, 4 * hidden)                  # (T, B, 4H), scaled
        # the biases are added step by step, to a (B, 4H) block the loop has in cache anyway:
        # one pass over the whole (T, B, 4H) array, from memory, costs more
        bias = (biases[0] + biases[1]) * scale if biases else None       # (4H,), scaled
        hc = xp.empty((2, steps, batch, hidden), dtype)                  # the output
        tanh_c = xp.empty((steps, batch, hidden), dtype)
        # W_hhᵀ copied into row order first (the BLAS multiplies a (B, H) block by it 1.6x
        # faster than by the transposed view, and it does so T times; w_hh.T * scale alone
        # would keep the transposed layout)
        h, c = h0.astype(dtype, copy=False), c0                          # (B, H) each
        w_hh_t = xp.array(w_hh.T, dtype=dtype, order="C")                # (H, 4H), a copy
        w_hh_t *= scale
        recurrent = self.impl.recurrent_product(w_hh_t)                  # h ↦ h W_hhᵀ
        for t in range(steps):
            a = gates[t]                                                 # (B, 4H), in place
            if bias is not None:
                a += bias
            recurrent.add_to(a, h)                                       # scaled a_t
            xp.tanh(a, out=a)
            self.impl.lstm_cell_forward(a, scale, shift, c, hc[1, t])    # gates, c_t
            c = hc[1, t]
            xp.tanh(c, out=tanh_c[t])
            h = xp.multiply(a[:, 3 * hidden:], tanh_c[t], out=hc[0, t])  # h_t = o ⊙ tanh c_t
        self.gates, self.tanh_c, self.hc = gates, tanh_c, hc
        return hc

    def backward_arrays(self, grad_hc):
        xp = self.xp
        x, h0, c0, w_ih, w_hh = (tensor.data for tensor in self.inputs[:5])
        steps, batch, hidden = self.tanh_c.shape
        grad_h, grad_c = grad_hc                                         # (T, B, H) each
        hs, cs = self.hc                                                 # (T, B, H) each
        da = xp.empty_like(self.gates)                                   # (T, B, 4H)
        dh_next = xp.zeros((batch, hidden), da.dtype)                    # da_{t+1} W_hh
        dc_next = xp.zeros((batch, hidden), da.dtype)                    # dc_{t+1} ⊙ f_{t+1}
        recurrent = self.impl.recurrent_product(w_hh.astype(da.dtype, copy=False))  # ↦ da W_hh
        for t in range(steps - 1, -1, -1):
            c_prev = cs[t - 1] if t else c0                              # (B, H)
            dc_next = self.impl.lstm_cell_backward(grad_h[t], grad_c[t], dh_next, dc_next,
                                                   self.gates[t], self.tanh_c[t], c_prev, da[t])
            dh_next = recurrent(da[t])                                   # (B, H)
        da = da.reshape(steps * batch, 4 * hidden)                       # (T·B, 4H)
        matmul, wanted = self.impl.matmul, [tensor.requires_grad for tensor in self.inputs]
        grads = [None, dh_next, dc_next, None, None] + [None] * (len(self.inputs) - 5)
        if wanted[0]:
            grads[0] = matmul(da, w_ih).reshape(x.shape)                 # (T, B, I)
        if wanted[3]:
            grads[3] = matmul(da.T, x.reshape(steps * batch, -1))        # (4H, I)
        if wanted[4]:   # h_{t-1} is h_0 for the first step, the output's h_{t-1} after it
            grads[4] = (matmul(da[:batch].T, h0)                         # (4H, H)
                        + matmul(da[batch:].T, hs[:-1].reshape(-1, hidden)))
        if len(grads) > 5:
            grads[5] = grads[6] = sum_over_rows(xp, da)                  # (4H,)
        return tuple(grads)

    def composed(self, *inputs):
        return lstm_reference(*inputs)


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
               b_ih: Tensor | None = None, b_hh: Tensor | None = None, impl=None) -> Tensor:
    """One LSTM layer over a whole sequence as one operation: x (T, B, I), h0 and c0 (B, H),
    w_ih (4H, I), w_hh (4H, H), b_ih and b_hh (4H,) or both None. Returns (2, T, B, H): [0]
    holds the hidden states h_1 .. h_T, [1] the cell states c_1 .. c_T. ``impl``: the kernel
    module for the steps and the products (see ``LSTMLayer``), or None for the reference."""
    biases = () if b_ih is None and b_hh is None else (b_ih, b_hh)
    hidden = w_hh.shape[-1]
    if (x.ndim != 3 or x.shape[0] == 0 or h0.shape != (x.shape[1], hidden) or c0.shape != h0.shape
            or w_ih.shape != (4 * hidden, x.shape[2]) or w_hh.shape != (4 * hidden, hidden)
            or any(b is None or b.shape != (4 * hidden,) for b in biases)):
        shapes = ", ".join(str(getattr(t, "shape", None)) for t in (x, h0, c0, w_ih, w_hh) + biases)
        raise ShapeError(f"lstm_layer: expected x (T, B, I) with T >= 1, h0 and c0 (B, H), "
                         f"w_ih (4H, I), w_hh (4H, H) and both or no biases (4H,), got {shapes}")
    return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, *biases, impl=impl)
