"""The differentiable operations, one family per file.

Each operation is a ``Function`` subclass: ``forward`` computes arrays with ``self.xp`` (NumPy or
CuPy), and ``backward`` returns the input gradients written with Tensor operations, so every
gradient is itself differentiable. The docstring of each class states both rules.
"""
