"""The functions at the package's top level, as PyTorch has them: ``tg.sum(x, dim=1)``.

Most are the Tensor method of the same name called on the first argument (``tg.max(x, 1)`` is
``x.max(1)``), so there is one implementation of each operation; the first argument may also be
a NumPy array or a list (PyTorch code writes ``torch.max(outputs.data, 1)``, and ``.data`` is the
backend array here). The rest compare tensors as a whole (``allclose``, ``equal``).
"""
from __future__ import annotations

from . import backend
from .ops import einsum as _einsum, elementwise, movement
from .tensor import Tensor

__all__ = ["abs", "add", "allclose", "amax", "amin", "argmax", "argmin", "bmm", "cat", "clamp",
           "clip", "concat", "concatenate", "div", "einsum", "equal", "exp", "flatten", "isclose",
           "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
           "mm", "mul", "neg", "numel", "permute", "pow", "relu", "reshape", "sigmoid", "softmax",
           "sqrt", "squeeze", "stack", "std", "sub", "sum", "t", "tanh", "transpose", "tril",
           "triu", "unsqueeze", "var", "where"]


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _method(name: str, doc: str):
    """A top-level function that calls ``input.<name>(*args, **kwargs)``."""
    def function(input, *args, **kwargs):
        return getattr(_tensor(input), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc} Same as ``input.{name}(...)``."
    return function


abs = _method("abs", "|x| elementwise.")
add = _method("add", "x + alpha·other.")
amax = _method("amax", "The largest value over one or several dims.")
amin = _method("amin", "The smallest value over one or several dims.")
argmax = _method("argmax", "The index of the largest element (along ``dim`` if given).")
argmin = _method("argmin", "The index of the smallest element (along ``dim`` if given).")
clamp = clip = _method("clamp", "Values limited to [min, max].")
div = _method("div", "x / other (``rounding_mode`` as in PyTorch).")
exp = _method("exp", "e^x elementwise.")
flatten = _method("flatten", "Dims start_dim .. end_dim merged into one.")
log = _method("log", "ln x elementwise.")
log_softmax = _method("log_softmax", "x - logsumexp(x) along ``dim``.")
logsumexp = _method("logsumexp", "log Σ e^x along ``dim``.")
max = _method("max", "The largest element; along a dim the pair (values, indices); with a "
                     "tensor, the elementwise maximum.")
mean = _method("mean", "The mean over ``dim``.")
min = _method("min", "The mirror image of ``max``.")
mul = _method("mul", "x * other.")
neg = _method("neg", "-x.")
numel = _method("numel", "The number of elements.")
permute = _method("permute", "The dims reordered.")
pow = _method("pow", "x ** exponent.")
relu = _method("relu", "max(x, 0) elementwise.")
reshape = _method("reshape", "The same elements in a new shape.")
sigmoid = _method("sigmoid", "1 / (1 + e^-x) elementwise.")
softmax = _method("softmax", "e^x / Σ e^x along ``dim``.")
sqrt = _method("sqrt", "√x elementwise.")
squeeze = _method("squeeze", "Dims of length 1 removed.")
std = _method("std", "The standard deviation over ``dim`` (unbiased by default).")
sub = _method("sub", "x - alpha·other.")
sum = _method("sum", "The sum over ``dim``.")
t = _method("t", "The transpose of a matrix.")
tanh = _method("tanh", "tanh x elementwise.")
transpose = _method("transpose", "Dims dim0 and dim1 swapped.")
tril = _method("tril", "The lower triangle of the last two dims, zeros above ``diagonal``.")
triu = _method("triu", "The upper triangle of the last two dims, zeros below ``diagonal``.")
unsqueeze = _method("unsqueeze", "A dim of length 1 inserted at ``dim``.")
var = _method("var", "The variance over ``dim`` (unbiased by default).")

maximum, minimum = elementwise.maximum, elementwise.minimum
cat = concat = concatenate = movement.cat
stack = movement.stack
einsum = _einsum.einsum


def matmul(input, other) -> Tensor:
    """``input @ other`` for 1-D, 2-D and batched operands."""
    return _tensor(input) @ other


def mm(input, mat2) -> Tensor:
    """The product of two matrices (2-D only, as ``torch.mm``)."""
    if _tensor(input).ndim != 2 or _tensor(mat2).ndim != 2:
        raise ValueError(f"mm: expects two matrices, got shapes {_tensor(input).shape} and "
                         f"{_tensor(mat2).shape}")
    return matmul(input, mat2)


def bmm(input, mat2) -> Tensor:
    """Batched matrix product of (B, n, k) and (B, k, m) (3-D only, as ``torch.bmm``)."""
    if _tensor(input).ndim != 3 or _tensor(mat2).ndim != 3:
        raise ValueError(f"bmm: expects two 3-D tensors, got shapes {_tensor(input).shape} and "
                         f"{_tensor(mat2).shape}")
    return matmul(input, mat2)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``; with the condition alone, the
    indices of its True elements, one int64 tensor per dim (``torch.where(condition)``)."""
    if input is None and other is None:
        condition = _tensor(condition)
        found = condition.xp.nonzero(condition.data)
        return tuple(Tensor._make(indices, condition.device) for indices in found)
    return elementwise.where(condition, input, other)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """|input - other| <= atol + rtol·|other| elementwise, as a bool tensor (no gradient)."""
    a, b = _tensor(input), _tensor(other)
    return Tensor._make(a.xp.isclose(a.data, backend.to_device(b.data, a.device), rtol=rtol,
                                     atol=atol, equal_nan=equal_nan), a.device)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element of ``input`` is close to ``other`` (see :func:`isclose`)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input, other) -> bool:
    """True when both have the same shape and the same elements."""
    a, b = _tensor(input), _tensor(other)
    return a.shape == b.shape and bool((a == b).data.all())
