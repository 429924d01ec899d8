"""Embedding: a lookup table of learned vectors, one row per token id.

``embedding(indices, weight)`` with weight of shape (num_embeddings, embedding_dim) returns
weight[indices], shape (*indices.shape, embedding_dim). It equals multiplying a one-hot matrix by
the weight, without ever building the one-hot matrix.

Backward: only the rows that were looked up get a gradient, and a row looked up k times gets
the sum of its k output gradients:

    dL/dweight[r] = Σ over positions p with indices[p] = r of dL/dy[p]

That is a scatter-add, which the engine's indexing already does (``GetItem``'s backward is
``IndexAdd``, which accumulates repeated indices instead of overwriting them).

``padding_idx`` marks a row (e.g. the padding token) that starts at zero and never learns:
the output still shows that row, but no gradient flows to it.
"""
from __future__ import annotations

from .. import creation
from ..ops.elementwise import where
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def _as_index_tensor(indices, device: str) -> Tensor:
    indices = indices if isinstance(indices, Tensor) else Tensor(indices, device=device)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    return indices


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """weight[indices]: (*indices.shape) integer ids -> (*indices.shape, embedding_dim)."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must have shape (num_embeddings, embedding_dim), "
                         f"got {weight.shape}")
    indices = _as_index_tensor(indices, weight.device)
    rows = weight.shape[0]
    if indices.numel() and (int(indices.data.min()) < 0 or int(indices.data.max()) >= rows):
        bad = indices.data[(indices.data < 0) | (indices.data >= rows)].ravel()[0]
        raise IndexError(f"embedding: index {int(bad)} is out of range for a table of "
                         f"{rows} rows (valid ids are 0..{rows - 1})")
    vectors = weight[indices]                                  # (*indices.shape, embedding_dim)
    if padding_idx is None:
        return vectors
    is_padding = (indices == padding_idx).unsqueeze(-1)       # (*indices.shape, 1)
    return where(is_padding, vectors.detach(), vectors)        # same values, no gradient there


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``, initialised from
    N(0, 1) as in PyTorch (the ``padding_idx`` row, if given, starts at zero)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(creation.zeros(num_embeddings, embedding_dim))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices) -> Tensor:
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
