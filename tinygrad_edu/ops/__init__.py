"""The differentiable operations, one family per file.

Each operation is a ``Function`` subclass: ``forward`` computes arrays with ``self.xp`` (NumPy or
CuPy), and ``backward`` returns the input gradients written with Tensor operations, so every
gradient is itself differentiable. The operations that make up most of a training step
(convolution, fused attention, the LSTM layer, LayerNorm, the tanh GELU, the linear layer, the
cross-entropy of class indices, and the everyday elementwise operations) also have
``backward_arrays``, the same first-order gradient on arrays for speed; the backward walk takes it unless the gradient's own
graph is recorded (``create_graph=True``). The docstring of each class states the rules.
Operations that compose honestly from others are plain functions, not ``Function`` classes.
"""
