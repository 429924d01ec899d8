"""Loss functions: one number that says how wrong the predictions are.

Regression (``input`` and ``target`` of the same shape, d = input - target):

    mse_loss     d²
    l1_loss      |d|
    huber_loss   d²/2 where |d| < δ, else δ(|d| - δ/2)    (quadratic near 0, linear far away)
    smooth_l1_loss  huber_loss with δ = β, divided by β   (PyTorch's Fast R-CNN form)

Classification from logits x (the scores before softmax), with classes on axis 1 as in
PyTorch, so ``input`` is (N, C) or (N, C, d1, ...) (or (C,) for a single sample):

    cross_entropy     -log softmax(x)[t] = logsumexp(x) - x[t]     for a class index t
                      -Σ_c p_c log softmax(x)_c                    for class probabilities p
    nll_loss          -input[t], when ``input`` already holds log-probabilities
    binary_cross_entropy_with_logits
                      -y log σ(x) - (1 - y) log(1 - σ(x)) = (1 - y)·x + softplus(-x)
    kl_div            Σ target · (log target - input), with ``input`` log-probabilities

Numerical stability is the whole game here. softmax(x) underflows to 0 for a logit 1e4 below
the largest, and log 0 = -inf; so cross_entropy never forms softmax and takes its log: it uses
log_softmax = x - logsumexp(x), computed from x - max x. Likewise the binary loss uses softplus
in the form max(x, 0) + log(1 + e^-|x|), whose exponent is never positive. All losses stay finite,
with finite gradients, for logits of ±1e4.

The gradient of cross_entropy with respect to the logits is the famous softmax(x) - onehot(t)
(divided by N for the mean); it comes out of log_softmax's backward rule and the gather
``log_probs[i, t_i]``, whose backward is a scatter into zeros. The everyday case, the mean over
(N, C) logits of valid class indices, is one operation written with that formula
(``ops/cross_entropy.py``).

``reduction`` is "mean" (the default), "sum" or "none" (one loss per element or sample). With
class weights w or an ``ignore_index``, the mean is Σ_i w[t_i]·loss_i / Σ_i w[t_i] over the
targets that are not ignored, exactly as in PyTorch.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..ops import cross_entropy as one_operation
from ..ops.elementwise import where
from ..tensor import Tensor
from .activation import softplus
from .module import Module

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------- helpers

def _check_reduction(name: str, reduction: str, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _as_tensor(value, like: Tensor) -> Tensor:
    """A target or weight given as a list or array, as a Tensor on ``like``'s device."""
    return value if isinstance(value, Tensor) else Tensor(value, device=like.device)


def _same_shape_target(name: str, input: Tensor, target) -> Tensor:
    """The target of an elementwise loss: the input's shape; integers or booleans become floats."""
    target = _as_tensor(target, input)
    if target.shape != input.shape:
        raise ShapeError(f"{name}: target shape {target.shape} differs from input shape "
                         f"{input.shape}")
    return target if target.dtype.kind == "f" else target.astype(input.dtype)


# ----------------------------------------------------------------------------- regression

def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: (input - target)²."""
    _check_reduction("mse_loss", reduction)
    diff = input - _same_shape_target("mse_loss", input, target)
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: |input - target|."""
    _check_reduction("l1_loss", reduction)
    return _reduce((input - _same_shape_target("l1_loss", input, target)).abs(), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """d²/2 for |d| < delta, else delta·(|d| - delta/2): MSE near the target, L1 far from it.

    d loss/d d = d inside, delta·sign(d) outside, so an infinite residual has the gradient
    ±delta (over N for the mean), as in PyTorch. Each branch is computed only on the residuals
    it is chosen for (the others see a harmless stand-in): ``where`` passes a zero gradient to
    the branch it does not choose, and that zero times the branch's own derivative at d = ±inf
    (d²/2 has the derivative d) would be 0·inf = NaN. A NaN residual gives a NaN loss and NaN
    gradient, as in PyTorch."""
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - _same_shape_target("huber_loss", input, target)
    distance = diff.abs()
    near = distance < delta                                   # no gradient: a mask
    inside = where(near, diff, 0.0)                           # d where quadratic, else 0
    outside = where(near, delta, distance)                    # |d| where linear, else delta
    quadratic = 0.5 * inside * inside
    linear = delta * (outside - 0.5 * delta)
    return _reduce(where(near, quadratic, linear), reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """d²/(2·beta) for |d| < beta, else |d| - beta/2: ``huber_loss(delta=beta) / beta``, with
    the same gradients at ±inf (±1, over N for the mean); beta = 0 is the L1 loss."""
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0 or beta != beta:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) / beta


# ----------------------------------------------------------------------------- classification

def _class_axis(name: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ShapeError(f"{name}: input must be (N, C), (N, C, d1, ...) or (C,), got a scalar")
    return 0 if input.ndim == 1 else 1


def _class_weights(name: str, weight, input: Tensor, classes: int):
    """The per-class weights as an array of shape (C,), or None."""
    if weight is None:
        return None
    weight = _as_tensor(weight, input)
    if weight.shape != (classes,):
        raise ShapeError(f"{name}: weight must have one entry per class, shape ({classes},), "
                         f"got {weight.shape}")
    return weight.data.astype(input.dtype)


def _picked_log_probs(name: str, log_probs: Tensor, target: Tensor, weight, ignore_index: int):
    """The terms of the negative log-likelihood, one per target position.

    Returns (losses, kept_weights): losses[p] = -w[t_p]·log_probs[p, t_p] (0 where t_p is
    ``ignore_index``), shaped like ``target``, and the array of w[t_p] (0 where ignored)."""
    class_axis = _class_axis(name, log_probs)
    classes = log_probs.shape[class_axis]
    expected = log_probs.shape[:1] + log_probs.shape[2:] if class_axis == 1 else ()
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be integers, got dtype {target.dtype}")
    if target.shape != expected:
        raise ShapeError(f"{name}: target of shape {target.shape} does not fit input of shape "
                         f"{log_probs.shape}; expected class indices of shape {expected}")
    xp, indices = log_probs.xp, target.data
    ignored = indices == ignore_index
    out_of_range = ~ignored & ((indices < 0) | (indices >= classes))
    if out_of_range.any():
        bad = int(indices[out_of_range].ravel()[0])
        raise IndexError(f"{name}: target class {bad} is out of range for {classes} classes "
                         f"(valid: 0..{classes - 1}, or ignore_index={ignore_index})")
    safe_indices = xp.where(ignored, 0, indices).ravel()          # (M,) any valid class
    # put the classes last and flatten the rest, so that row p holds position p's scores
    order = (0,) + tuple(range(2, log_probs.ndim)) + (1,) if class_axis == 1 else (0,)
    rows = log_probs.permute(*order).reshape(safe_indices.size, classes)       # (M, C)
    picked = rows[xp.arange(safe_indices.size), safe_indices]                    # (M,)
    kept = (~ignored).ravel().astype(log_probs.dtype)                           # (M,) 1 or 0
    if weight is not None:
        kept = kept * weight[safe_indices]
    losses = -(picked * Tensor._make(kept, log_probs.device)).reshape(target.shape)
    return losses, kept


def _weighted_mean(total: Tensor, kept_weights, device: str) -> Tensor:
    """total / Σ w[t]: the mean over the targets that were not ignored."""
    return total / Tensor._make(kept_weights.sum(), device)


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: -input[t] for log-probabilities ``input`` and class indices t."""
    _check_reduction("nll_loss", reduction)
    class_axis = _class_axis("nll_loss", input)
    weight = _class_weights("nll_loss", weight, input, input.shape[class_axis])
    losses, kept = _picked_log_probs("nll_loss", input, _as_tensor(target, input), weight,
                                     ignore_index)
    if reduction == "mean":
        return _weighted_mean(losses.sum(), kept, input.device)
    return _reduce(losses, reduction)


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and ``target``: class indices (integers, shape
    (N, d1, ...)) or class probabilities (floats, the input's shape).

    ``label_smoothing`` ε mixes the target with the uniform distribution: the loss becomes
    (1 - ε)·(loss for the target) + ε·(mean over classes of -log softmax)."""
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_axis = _class_axis("cross_entropy", input)
    classes = input.shape[class_axis]
    weight = _class_weights("cross_entropy", weight, input, classes)
    target = _as_tensor(target, input)
    if reduction == "mean" and weight is None and not label_smoothing and \
            one_operation.fits(input, target, ignore_index):
        return one_operation.cross_entropy_of_indices(input, target)   # the everyday case
    log_probs = input.log_softmax(axis=class_axis)                    # (N, C, d1, ...)
    per_class = (classes,) + (1,) * (input.ndim - 2) if class_axis == 1 else (classes,)
    class_weight = None if weight is None else Tensor._make(weight.reshape(per_class), input.device)

    if target.dtype.kind == "f":   # class probabilities
        if target.shape != input.shape:
            raise ShapeError(f"cross_entropy: a class-probability target must have the input's "
                             f"shape {input.shape}, got {target.shape} (class indices need an "
                             f"integer dtype)")
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index ({ignore_index}) only applies to "
                             f"class-index targets, not to class probabilities")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        weighted = log_probs * target if class_weight is None else log_probs * target * class_weight
        return _reduce(-weighted.sum(axis=class_axis), reduction)     # mean: over the samples

    losses, kept = _picked_log_probs("cross_entropy", log_probs, target, weight, ignore_index)
    if label_smoothing:   # the uniform part: -Σ_c w_c log p_c at every position not ignored
        uniform_terms = log_probs if class_weight is None else log_probs * class_weight
        not_ignored = Tensor._make((target.data != ignore_index).astype(input.dtype), input.device)
        smooth = -uniform_terms.sum(axis=class_axis) * not_ignored   # (N, d1, ...)
        losses = (1 - label_smoothing) * losses + (label_smoothing / classes) * smooth
    if reduction == "mean":
        return _weighted_mean(losses.sum(), kept, input.device)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """-y log σ(x) - (1 - y) log(1 - σ(x)) for logits x and targets y in [0, 1], computed as
    (1 - y)·x + softplus(-x), which never overflows. ``pos_weight`` p scales the positive term:
    (1 - y)·x + (1 + (p - 1)·y)·softplus(-x). ``weight`` rescales each element's loss."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    target = _same_shape_target(name, input, target)
    log_one_plus_exp = softplus(-input)                         # -log σ(x)
    if pos_weight is None:
        loss = (1 - target) * input + log_one_plus_exp
    else:
        pos_weight = _as_tensor(pos_weight, input)
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_one_plus_exp
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    return _reduce(loss, reduction)


def _x_log_x(t: Tensor) -> Tensor:
    """t·log t with the limit value 0 at t = 0 (log is only taken of positive numbers)."""
    positive = t > 0
    return where(positive, t * where(positive, t, 1.0).log(), 0.0)


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target ‖ q) for ``input`` = log q, pointwise
    target·(log target - input), summed as ``reduction`` says; ``"batchmean"`` divides the sum by
    the batch size (the true KL per sample), ``"mean"`` by the number of elements (PyTorch's
    default). With ``log_target=True`` the target is given as log-probabilities too."""
    _check_reduction("kl_div", reduction, _REDUCTIONS + ("batchmean",))
    target = _same_shape_target("kl_div", input, target)
    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        pointwise = _x_log_x(target) - target * input
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(pointwise, reduction)


# ----------------------------------------------------------------------------- modules

class _Loss(Module):
    """A loss as a Module: the settings are kept, ``forward(input, target)`` calls the function."""

    extra_reductions: tuple = ()

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        _check_reduction(type(self).__name__, reduction, _REDUCTIONS + self.extra_reductions)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    def forward(self, input: Tensor, target) -> Tensor:
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target) -> Tensor:
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class NLLLoss(_Loss):
    """Class weights are a buffer named ``weight``, as in PyTorch (moved by ``.to``)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else Tensor(weight))
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(NLLLoss):
    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else Tensor(weight))
        self.register_buffer("pos_weight", None if pos_weight is None else Tensor(pos_weight))

    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)


class KLDivLoss(_Loss):
    extra_reductions = ("batchmean",)

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)


# ----------------------------------------------------------------------------- binary cross-entropy

def _clamped_log(p: Tensor) -> Tensor:
    """max(log p, -100), PyTorch's guard in binary_cross_entropy; gradient 0 where p = 0."""
    positive = p > 0
    return where(positive, where(positive, p, 1.0).log(), -100.0).clip(-100.0, None)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] and targets y; each log is
    clamped at -100, as in PyTorch. From logits, binary_cross_entropy_with_logits is exact."""
    _check_reduction("binary_cross_entropy", reduction)
    target = _same_shape_target("binary_cross_entropy", input, target)
    if input.numel() and (float(input.data.min()) < 0 or float(input.data.max()) > 1):
        raise ValueError("binary_cross_entropy: every element of input must lie in [0, 1]")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * _as_tensor(weight, input)
    return _reduce(loss, reduction)


class BCELoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, self.reduction)
