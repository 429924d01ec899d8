"""Running sums and products along one dimension (cumsum, cumprod) and the product reduction.

**cumsum**  z_i = Σ_{j≤i} a_j, so dz_i/da_k = 1 for every i ≥ k:

    da_k = Σ_{i≥k} grad_i        a *reverse* cumulative sum of grad.

``Cumsum`` runs either direction (``reverse``), and the backward of one direction is the
other, so it is differentiable to any order.

**cumprod**  z_i = Π_{j≤i} a_j, so dz_i/da_k = Π_{j≤i, j≠k} a_j for i ≥ k:

    da_k = Σ_{i≥k} grad_i · Π_{j≤i, j≠k} a_j.

When no a_j along the line is 0 the product without a_k is z_i / a_k, so
da = reverse_cumsum(grad · z) / a, one pass. Dividing by a zero would give NaN, so a line that
contains a zero takes the formula as written: an (n, n) matrix whose row k is the line with a_k
replaced by 1, its cumulative product, and the sum over i ≥ k (O(n²), only where needed).
Both are Tensor operations, so cumprod is twice differentiable, zeros included.

**prod** is composed: the last element of the cumulative product, so it inherits cumprod's
zero-safe gradient (with one zero among the a_j, only that one gets a nonzero gradient).
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from .elementwise import where
from .indexing import normalize_dim


class Cumsum(Function):
    """z_i = Σ_{j≤i} a_j along ``dim`` (Σ_{j≥i} with ``reverse``);   da = the other direction."""

    def forward(self, a, dim, reverse=False):
        self.dim, self.reverse = dim, reverse
        if not reverse:
            return self.xp.cumsum(a, axis=dim)
        return self.xp.flip(self.xp.cumsum(self.xp.flip(a, axis=dim), axis=dim), axis=dim)

    def backward(self, grad):
        return Cumsum.apply(grad, dim=self.dim, reverse=not self.reverse)


class Cumprod(Function):
    """z_i = Π_{j≤i} a_j along ``dim``;   da_k = Σ_{i≥k} grad_i Π_{j≤i, j≠k} a_j (see above)."""

    saves_output = True

    def forward(self, a, dim):
        self.dim = dim
        return self.xp.cumprod(a, axis=dim)

    def backward(self, grad):
        (a,) = self.inputs
        if not (a.data == 0).any():
            return Cumsum.apply(grad * self.output, dim=self.dim, reverse=True) / a
        return _cumprod_grad_with_zeros(a, grad, self.dim)


def _cumprod_grad_with_zeros(a: Tensor, grad: Tensor, dim: int) -> Tensor:
    """da_k = Σ_{i≥k} grad_i Π_{j≤i, j≠k} a_j, written out without any division."""
    n = a.shape[dim]
    a_last, grad_last = a.transpose(dim, -1), grad.transpose(dim, -1)        # (..., n)
    eye = a.xp.eye(n, dtype=bool)                                            # (k, j)
    rows = where(eye, 1.0, a_last.unsqueeze(-2).expand(a_last.shape[:-1] + (n, n)))
    without_k = cumprod(rows, -1)                                 # (..., k, i): Π_{j≤i, j≠k}
    later = Tensor._make(a.xp.triu(a.xp.ones((n, n), dtype=a.dtype)), a.device)   # i ≥ k
    da = (without_k * later * grad_last.unsqueeze(-2)).sum(-1)               # (..., k)
    return da.transpose(dim, -1)


def _scan(function, x: Tensor, dim: int, name: str) -> Tensor:
    """Run a scan ``function`` along ``dim``; integers and booleans accumulate in int64, as
    PyTorch's do (a running sum of uint8 would overflow at once)."""
    dim = normalize_dim(dim, x.ndim, name)
    if x.ndim == 0:
        return x
    if x.dtype.kind in "bu" or x.dtype.kind == "i" and x.dtype.itemsize < 8:
        x = x.astype("int64")
    return function.apply(x, dim=dim)


def cumsum(x: Tensor, dim: int) -> Tensor:
    """``torch.cumsum``: running sums along ``dim``."""
    return _scan(Cumsum, x, dim, "cumsum")


def cumprod(x: Tensor, dim: int) -> Tensor:
    """``torch.cumprod``: running products along ``dim``."""
    return _scan(Cumprod, x, dim, "cumprod")


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.prod``: the product of all elements, or along ``dim`` (an empty product is 1)."""
    if dim is None:
        flat = x.reshape(-1)
        out = cumprod(flat, 0)[-1] if flat.shape[0] else flat.sum() * 0 + 1
        return out.reshape((1,) * x.ndim) if keepdim else out
    dim = normalize_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return x
    if x.shape[dim] == 0:
        return x.sum(dim, keepdim) * 0 + 1
    index = (slice(None),) * dim + (slice(-1, None) if keepdim else -1,)
    return cumprod(x, dim)[index]
