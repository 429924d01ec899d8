"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``.

A recurrent layer reads a sequence x_1 .. x_T one step at a time and carries a hidden state h
from each step to the next, so h_t summarises everything seen up to t. Every step applies the
*same* cell with the same weights; the gradient reaches early steps by flowing backwards through
all the later ones ("backpropagation through time"), which the autograd engine does for us
because the unrolled loop is an ordinary graph. (The LSTM also has it written out by hand, for
speed: see below.)

The cells, for one step with input x (B, I) and previous state h (B, H) (σ is the sigmoid,
⊙ the elementwise product; W_ih (G·H, I), W_hh (G·H, H) hold the G gates stacked, PyTorch's
layout):

**RNN** (G = 1):   h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)       (or relu)

**LSTM** (G = 4, gate order i, f, g, o), with a second state, the cell c:

    i, f, g, o = split(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)             each (B, H)
    c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)       forget some of the old memory, write some new
    h' = σ(o) ⊙ tanh(c')                 expose part of the memory

  The cell c changes only by ⊙ and +, so its gradient can travel many steps without being
  squashed by a tanh each time: that is what lets LSTMs learn long dependencies.

**GRU** (G = 3, gate order r, z, n):

    r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)         reset gate
    z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)         update gate
    n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))  candidate state
    h' = (1 - z) ⊙ n + z ⊙ h

Layers stack: layer k > 0 reads the hidden states of layer k - 1 as its input sequence.

**Shapes.** Input (T, B, I), or (B, T, I) with ``batch_first=True``; the optional initial state
and the final state are (num_layers, B, H) (for LSTM a pair (h, c) of those). ``forward``
returns (output, final state) with output (T, B, H) (or (B, T, H)): the last layer's h at
every step. Parameters: ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}``, initialised U(±1/√H), as in PyTorch.

**Speed.** RNN and GRU run the unrolled cells. Each step does one matrix product per weight
matrix for *all* gates together (x W_ihᵀ gives the G·H gate inputs at once), then slices the
gates apart. The input product is taken step by step rather than for the whole sequence at
once: in this engine the gradient of a slice is a zero tensor of the sliced tensor's full size,
so cutting T steps out of one (T, B, G·H) product would cost O(T²·B·G·H) in the backward pass,
far more than the product saves (measured 2-3x slower for a 64-step LSTM with H = 256).
Slicing the (T, B, I) input is the cheaper cut, since I is usually much smaller than G·H.

The LSTM does better: each of its layers is one operation, ``ops.lstm.LSTMLayer``, whose
forward pass loops over the steps on arrays and whose backward pass is backpropagation through
time written out by hand, with the input product and the weight gradients taken for all steps
at once. For the 64-step LSTM above (benchmark W4, one thread) that made a training step about
1.6x faster, from about 2.1x PyTorch's time to 1.3x. ``LSTM.fused = False`` runs the composed
cells instead (the reference); second derivatives always go through them.
"""
from __future__ import annotations

import math

from .. import creation, kernels
from ..autograd import ShapeError
from ..ops.lstm import lstm_cell, lstm_layer
from ..ops.movement import stack
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class _Recurrent(Module):
    """The parts RNN, LSTM and GRU share: parameters, shape checks, the loop over layers and
    steps. A subclass sets ``gates`` and writes ``cell`` (one step) for its kind of state."""

    gates = 1
    has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False):
        super().__init__()
        if min(input_size, hidden_size, num_layers) < 1:
            raise ValueError(f"{type(self).__name__}: input_size, hidden_size and num_layers "
                             f"must be >= 1, got {input_size}, {hidden_size}, {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        bound = 1 / math.sqrt(hidden_size)
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            columns = input_size if layer == 0 else hidden_size
            shapes = {f"weight_ih_l{layer}": (rows, columns),
                      f"weight_hh_l{layer}": (rows, hidden_size)}
            if bias:
                shapes.update({f"bias_ih_l{layer}": (rows,), f"bias_hh_l{layer}": (rows,)})
            for name, shape in shapes.items():
                setattr(self, name, Parameter(init.uniform_(creation.zeros(shape), -bound, bound)))

    def layer_parameters(self, layer: int) -> tuple:
        """(W_ih, W_hh, b_ih, b_hh) of one layer; the biases are None with ``bias=False``."""
        w_ih, w_hh = getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}")
        b_ih = getattr(self, f"bias_ih_l{layer}") if self.bias else None
        b_hh = getattr(self, f"bias_hh_l{layer}") if self.bias else None
        return w_ih, w_hh, b_ih, b_hh

    def layer_weights(self, layer: int) -> tuple:
        """(W_ihᵀ, W_hhᵀ, b_ih, b_hh) of one layer, transposed once for the whole sequence."""
        w_ih, w_hh, b_ih, b_hh = self.layer_parameters(layer)
        return w_ih.T, w_hh.T, b_ih, b_hh

    @staticmethod
    def project(x: Tensor, weight_t: Tensor, bias: Tensor | None) -> Tensor:
        """x Wᵀ + b for all gates at once (B, I) @ (I, G·H) -> (B, G·H)."""
        out = x @ weight_t
        return out if bias is None else out + bias

    def _check_input(self, x: Tensor) -> tuple[int, int]:
        """(T, B) of a valid input; a clear error for any other shape."""
        layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input of shape {layout} with "
                             f"input_size={self.input_size}, got {x.shape}")
        return (x.shape[1], x.shape[0]) if self.batch_first else (x.shape[0], x.shape[1])

    def _initial_states(self, hx, batch: int, like: Tensor) -> list:
        """One state per layer: each (B, H) (an (h, c) pair for LSTM), zeros when not given."""
        expected = (self.num_layers, batch, self.hidden_size)
        count = 2 if self.has_cell_state else 1
        if hx is None:
            parts = (creation.zeros(expected, dtype=like.dtype, device=like.device),) * count
        elif self.has_cell_state and not isinstance(hx, (tuple, list)):
            raise TypeError(f"{type(self).__name__}: the initial state must be a pair (h_0, c_0), "
                            f"got {type(hx).__name__}")
        else:
            parts = tuple(hx) if self.has_cell_state else (hx,)
        if len(parts) != count or any(part.shape != expected for part in parts):
            given = [part.shape for part in parts] if self.has_cell_state else parts[0].shape
            raise ShapeError(f"{type(self).__name__}: expected an initial state of "
                             f"{'2 × ' if self.has_cell_state else ''}shape {expected} "
                             f"(num_layers, B, hidden_size), got {given}")
        per_layer = [tuple(part[layer] for part in parts) for layer in range(self.num_layers)]
        return per_layer if self.has_cell_state else [h for (h,) in per_layer]

    def forward(self, x: Tensor, hx=None):
        """(output, final state) for the input sequence x; ``hx`` is the initial state."""
        steps, batch = self._check_input(x)
        if self.batch_first:
            x = x.transpose(0, 1)                                            # (T, B, I)
        inputs = [x[t] for t in range(steps)]                                # T × (B, I)
        finals = []
        for layer, layer_state in enumerate(self._initial_states(hx, batch, x)):
            weights = self.layer_weights(layer)
            outputs = []
            for x_t in inputs:
                layer_state = self.cell(x_t, layer_state, *weights)
                outputs.append(layer_state[0] if self.has_cell_state else layer_state)  # (B, H)
            inputs = outputs                       # the next layer reads this layer's h_t
            finals.append(layer_state)
        output = stack(inputs, axis=1 if self.batch_first else 0)           # (T, B, H) / (B, T, H)
        if self.has_cell_state:
            return output, tuple(stack(part, axis=0) for part in zip(*finals))  # 2 × (L, B, H)
        return output, stack(finals, axis=0)                                 # (L, B, H)

    def cell(self, x: Tensor, state, w_ih_t, w_hh_t, b_ih, b_hh):
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}")


class RNN(_Recurrent):
    """Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (``nonlinearity="relu"`` for relu).
    forward(x, hx=h_0) -> (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first)
        self.nonlinearity = nonlinearity

    def cell(self, x, h, w_ih_t, w_hh_t, b_ih, b_hh):
        pre = self.project(x, w_ih_t, b_ih) + self.project(h, w_hh_t, b_hh)  # (B, H)
        return pre.tanh() if self.nonlinearity == "tanh" else pre.relu()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTM(_Recurrent):
    """Long short-term memory, gates (i, f, g, o).
    forward(x, hx=(h_0, c_0)) -> (output, (h_n, c_n)).

    Each layer runs as one operation, ``ops.lstm.LSTMLayer``, with backpropagation through
    time written out. ``fused = False`` (on the class or on one layer) runs the composed cells
    step by step instead: the reference, a graph that the engine differentiates."""

    gates = 4
    has_cell_state = True
    fused = True

    def forward(self, x: Tensor, hx=None):
        if not self.fused:
            return super().forward(x, hx)
        _, batch = self._check_input(x)
        sequence = x.transpose(0, 1) if self.batch_first else x         # (T, B, I)
        h_n, c_n = [], []
        for layer, (h, c) in enumerate(self._initial_states(hx, batch, sequence)):
            hc = lstm_layer(sequence, h, c, *self.layer_parameters(layer),   # (2, T, B, H)
                            impl=kernels.select("lstm", sequence.device))
            sequence = hc[0]                                             # (T, B, H)
            h_n.append(hc[0, -1])                                        # (B, H)
            c_n.append(hc[1, -1])                                        # (B, H)
        output = sequence.transpose(0, 1) if self.batch_first else sequence
        return output, (stack(h_n), stack(c_n))                         # 2 × (L, B, H)

    def cell(self, x, state, w_ih_t, w_hh_t, b_ih, b_hh):
        """One composed step, ``ops.lstm.lstm_cell``: (h', c') from x and state (h, c)."""
        return lstm_cell(x, state, w_ih_t, w_hh_t, b_ih, b_hh)


class GRU(_Recurrent):
    """Gated recurrent unit, gates (r, z, n). forward(x, hx=h_0) -> (output, h_n)."""

    gates = 3

    def cell(self, x, h, w_ih_t, w_hh_t, b_ih, b_hh):
        hidden = self.hidden_size
        from_x = self.project(x, w_ih_t, b_ih)                              # (B, 3H)
        from_h = self.project(h, w_hh_t, b_hh)                              # (B, 3H)
        reset_update = (from_x[:, :2 * hidden] + from_h[:, :2 * hidden]).sigmoid()  # (B, 2H)
        reset, update = reset_update[:, :hidden], reset_update[:, hidden:]  # (B, H) each
        candidate = (from_x[:, 2 * hidden:] + reset * from_h[:, 2 * hidden:]).tanh()  # (B, H)
        return (1 - update) * candidate + update * h                        # (B, H)
