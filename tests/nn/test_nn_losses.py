"""Losses: forward against independent NumPy loops and PyTorch, float64 gradient checks,
reductions, class weights, ignore_index, label smoothing, stability at logits of ±1e4, errors."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

REDUCTIONS = ["mean", "sum", "none"]


def reduce_np(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](losses)


def log_softmax_np(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def cross_entropy_np(x, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """A position-by-position loop over the definition (classes on axis 1, or axis 0 unbatched)."""
    log_probs = log_softmax_np(x, 0 if x.ndim == 1 else 1)
    log_probs = log_probs if x.ndim == 1 else np.moveaxis(log_probs, 1, -1)   # classes last
    classes = log_probs.shape[-1]
    w = np.ones(classes) if weight is None else weight
    losses, total_weight = np.zeros(target.shape), 0.0
    for position in np.ndindex(target.shape):
        c = target[position]
        if c == ignore_index:
            continue
        row = log_probs[position]
        losses[position] = (1 - smoothing) * -w[c] * row[c] + smoothing / classes * -(w * row).sum()
        total_weight += w[c]
    if reduction == "mean":
        return losses.sum() / total_weight
    return reduce_np(losses, reduction)


# ----------------------------------------------------------------------------- regression

REGRESSION = {
    "mse_loss": (F.mse_loss, lambda d: d ** 2),
    "l1_loss": (F.l1_loss, np.abs),
    "huber_loss": (lambda x, t, reduction: F.huber_loss(x, t, reduction, delta=0.7),
                   lambda d: np.where(np.abs(d) < 0.7, 0.5 * d ** 2, 0.7 * (np.abs(d) - 0.35))),
}


def regression_pair(rng, shape=(3, 4)):
    """Input and target whose differences stay away from 0 and from the Huber corner at 0.7."""
    target = rng.standard_normal(shape)
    sizes = rng.choice([0.3, 0.5, 1.2, 1.8], shape) * rng.choice([-1, 1], shape)
    return target + sizes, target


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_forward(name, reduction, rng, device):
    fn, pointwise = REGRESSION[name]
    x, t = regression_pair(rng)
    out = fn(tg.Tensor(x, device=device), tg.Tensor(t, device=device), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), reduce_np(pointwise(x - t), reduction), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_gradcheck_input_and_target(name, rng, device):
    fn, _ = REGRESSION[name]
    x, t = (tg.Tensor(a, requires_grad=True, device=device) for a in regression_pair(rng, (2, 3)))
    assert tg.gradcheck(lambda x, t: fn(x, t, reduction="none"), [x, t])
    assert tg.gradcheck(lambda x, t: fn(x, t, reduction="mean"), [x, t])


@pytest.mark.parametrize("name, torch_name", [("mse_loss", "mse_loss"), ("l1_loss", "l1_loss"),
                                              ("huber_loss", "huber_loss")])
def test_regression_matches_torch(name, torch_name, rng):
    torch = pytest.importorskip("torch")
    x, t = regression_pair(rng)
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = getattr(F, name)(ours, t)
    out_theirs = getattr(torch.nn.functional, torch_name)(theirs, torch.tensor(t))
    out_ours.backward(), out_theirs.backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_regression_targets_may_be_integers_or_arrays():
    x = tg.Tensor([[1.5, -0.5]])
    np.testing.assert_allclose(F.mse_loss(x, np.array([[1, 0]])).numpy(), 0.25)
    assert F.l1_loss(x, [[1, 0]]).dtype == np.float32


# ----------------------------------------------------------------------------- cross-entropy

CE_CASES = [
    dict(shape=(4, 5)),
    dict(shape=(4, 5), weight=True),
    dict(shape=(4, 5), ignore=True),
    dict(shape=(4, 5), weight=True, ignore=True, smoothing=0.2),
    dict(shape=(3, 4, 2, 3), smoothing=0.1),
    dict(shape=(3, 4, 5), weight=True, ignore=True),
    dict(shape=(6,)),
]
CE_IDS = ["plain", "weight", "ignore", "weight-ignore-smooth", "4d-smooth", "3d-weight-ignore",
          "unbatched"]


def ce_case(case, rng):
    shape = case["shape"]
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = rng.standard_normal(shape) * 2
    target = rng.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if case.get("ignore"):
        target.flat[0] = -100
    weight = rng.uniform(0.5, 2.0, classes) if case.get("weight") else None
    return x, target, weight, case.get("smoothing", 0.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=CE_IDS)
def test_cross_entropy_forward(case, reduction, rng, device):
    x, target, weight, smoothing = ce_case(case, rng)
    out = F.cross_entropy(tg.Tensor(x, device=device), tg.Tensor(target, device=device), weight,
                          reduction=reduction, label_smoothing=smoothing)
    expected = cross_entropy_np(x, target, weight, reduction=reduction, smoothing=smoothing)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case", CE_CASES, ids=CE_IDS)
def test_cross_entropy_gradcheck(case, reduction, rng, device):
    x, target, weight, smoothing = ce_case(case, rng)
    logits = tg.Tensor(x, requires_grad=True, device=device)
    target = tg.Tensor(target, device=device)
    assert tg.gradcheck(lambda z: F.cross_entropy(z, target, weight, reduction=reduction,
                                                  label_smoothing=smoothing), [logits])


def test_cross_entropy_gradient_is_softmax_minus_onehot(rng):
    x, target = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    logits = tg.Tensor(x, requires_grad=True)
    F.cross_entropy(logits, target).backward()
    softmax = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad.numpy(), (softmax - np.eye(3)[target]) / 5, rtol=1e-12)


def test_cross_entropy_with_probability_targets(rng, device):
    x = rng.standard_normal((3, 4, 2))
    probabilities = rng.dirichlet(np.ones(4), (3, 2)).transpose(0, 2, 1)   # (N, C, d), sums to 1
    weight = rng.uniform(0.5, 2, 4)
    logits = tg.Tensor(x, requires_grad=True, device=device)
    target = tg.Tensor(probabilities, device=device)
    smoothed = probabilities * 0.9 + 0.1 / 4
    log_probs = log_softmax_np(x, 1)
    for reduction in REDUCTIONS:
        out = F.cross_entropy(logits, target, weight, reduction=reduction, label_smoothing=0.1)
        per_sample = -(log_probs * smoothed * weight[:, None]).sum(axis=1)   # (N, d)
        np.testing.assert_allclose(out.numpy(), reduce_np(per_sample, reduction), rtol=1e-12)
    # one-hot probabilities give the same loss as class indices
    indices = rng.integers(0, 4, (3, 2))
    onehot = np.moveaxis(np.eye(4)[indices], -1, 1)
    np.testing.assert_allclose(F.cross_entropy(logits, onehot).numpy(),
                               F.cross_entropy(logits, indices).numpy(), rtol=1e-12)
    assert tg.gradcheck(lambda z, p: F.cross_entropy(z, p, weight), [logits, tg.Tensor(
        probabilities, requires_grad=True, device=device)])


CE_TORCH = [dict(), dict(weight=True), dict(ignore=True, smoothing=0.15),
            dict(weight=True, ignore=True, smoothing=0.3), dict(probabilities=True, smoothing=0.1),
            dict(probabilities=True, weight=True)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_TORCH)
def test_cross_entropy_matches_torch(case, reduction, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5, 3))
    if case.get("probabilities"):
        target = rng.dirichlet(np.ones(5), (4, 3)).transpose(0, 2, 1)
    else:
        target = rng.integers(0, 5, (4, 3))
        if case.get("ignore"):
            target[0, :2] = 7   # a custom ignore_index
    weight = rng.uniform(0.5, 2.0, 5) if case.get("weight") else None
    settings = dict(reduction=reduction, label_smoothing=case.get("smoothing", 0.0))
    if not case.get("probabilities"):
        settings["ignore_index"] = 7
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = F.cross_entropy(ours, target, weight, **settings)
    out_theirs = torch.nn.functional.cross_entropy(
        theirs, torch.tensor(target), None if weight is None else torch.tensor(weight), **settings)
    upstream = rng.standard_normal(out_theirs.shape)
    out_ours.backward(tg.Tensor(upstream))
    out_theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_cross_entropy_float32_stays_float32(rng):
    logits = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, [0, 1, 2, 0])
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


# ----------------------------------------------------------------------------- nll_loss

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_is_cross_entropy_of_log_softmax(reduction, rng, device):
    x, target = rng.standard_normal((5, 4, 2)), rng.integers(0, 4, (5, 2))
    target[1, 1] = -100
    weight = rng.uniform(0.5, 2, 4)
    log_probs = tg.Tensor(log_softmax_np(x, 1), requires_grad=True, device=device)
    out = F.nll_loss(log_probs, tg.Tensor(target, device=device), weight, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), cross_entropy_np(x, target, weight, reduction=reduction),
                               rtol=1e-12)
    assert tg.gradcheck(lambda lp: F.nll_loss(lp, target, weight, reduction=reduction), [log_probs])


def test_nll_loss_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, target = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    target[2] = -100
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = F.nll_loss(ours, target), torch.nn.functional.nll_loss(theirs, torch.tensor(target))
    out_ours.backward(), out_theirs.backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------------------------- binary

def bce_np(x, y, weight=1.0, pos_weight=1.0):
    p = 1 / (1 + np.exp(-x))
    return -(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p)) * weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_forward_and_gradcheck(reduction, rng, device):
    x, y = rng.standard_normal((3, 4)) * 3, rng.uniform(0, 1, (3, 4))
    weight, pos_weight = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 3, 4)
    logits = tg.Tensor(x, requires_grad=True, device=device)
    target = tg.Tensor(y, requires_grad=True, device=device)
    plain = F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
    np.testing.assert_allclose(plain.numpy(), reduce_np(bce_np(x, y), reduction), rtol=1e-10)
    weighted = F.binary_cross_entropy_with_logits(logits, target, tg.Tensor(weight, device=device),
                                                  reduction, tg.Tensor(pos_weight, device=device))
    np.testing.assert_allclose(weighted.numpy(),
                               reduce_np(bce_np(x, y, weight, pos_weight), reduction), rtol=1e-10)
    assert tg.gradcheck(lambda z, t: F.binary_cross_entropy_with_logits(
        z, t, weight, reduction, pos_weight), [logits, target])


def test_bce_with_logits_gradient_at_zero_logit():
    # sigmoid(0) - y: the stable formula's kinks at x = 0 must not leak into the gradient
    logits = tg.Tensor(np.zeros(3), requires_grad=True)
    F.binary_cross_entropy_with_logits(logits, [0.0, 1.0, 0.25], reduction="sum").backward()
    np.testing.assert_allclose(logits.grad.numpy(), [0.5, -0.5, 0.25])


def test_bce_with_logits_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, y = rng.standard_normal((5, 3)) * 4, rng.integers(0, 2, (5, 3)).astype(np.float64)
    pos_weight = rng.uniform(0.5, 3, 3)
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = F.binary_cross_entropy_with_logits(ours, y, pos_weight=pos_weight)
    out_theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        theirs, torch.tensor(y), pos_weight=torch.tensor(pos_weight))
    out_ours.backward(), out_theirs.backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------------------------- KL divergence

@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, rng, device):
    q_logits, p_logits = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    log_q, log_p = log_softmax_np(q_logits, 1), log_softmax_np(p_logits, 1)
    p = np.exp(log_p)
    if not log_target:
        p[0, 1] = 0.0   # a zero-probability target contributes 0 (the limit of p log p)
    pointwise = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - log_q), 0.0)
    expected = pointwise.sum() / 3 if reduction == "batchmean" else reduce_np(pointwise, reduction)
    target_tensor = tg.Tensor(np.log(p) if log_target else p, device=device)
    inputs = tg.Tensor(log_q, requires_grad=True, device=device)
    out = F.kl_div(inputs, target_tensor, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert tg.gradcheck(lambda z: F.kl_div(z, target_tensor, reduction, log_target), [inputs])


def test_kl_div_gradcheck_in_the_target(rng):
    log_q = tg.Tensor(log_softmax_np(rng.standard_normal((2, 3)), 1))
    p = tg.Tensor(rng.uniform(0.1, 0.9, (2, 3)), requires_grad=True)
    assert tg.gradcheck(lambda p: F.kl_div(log_q, p, reduction="batchmean"), [p])


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div_matches_torch(reduction, rng):
    torch = pytest.importorskip("torch")
    log_q = log_softmax_np(rng.standard_normal((4, 5)), 1)
    p = np.exp(log_softmax_np(rng.standard_normal((4, 5)), 1))
    ours, theirs = tg.Tensor(log_q, requires_grad=True), torch.tensor(log_q, requires_grad=True)
    out_ours = F.kl_div(ours, p, reduction=reduction)
    out_theirs = torch.nn.functional.kl_div(theirs, torch.tensor(p), reduction=reduction)
    out_ours.sum().backward(), out_theirs.sum().backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------------------------- stability

def test_huge_logits_give_exact_finite_losses_and_gradients(device):
    logits = tg.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]]), requires_grad=True,
                       device=device)
    loss = F.cross_entropy(logits, tg.Tensor(np.array([0, 2]), device=device), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 5e3], rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[0, 0, 0], [0, 1, -1]], atol=1e-12)

    for fn in (lambda z: F.cross_entropy(z, tg.Tensor(np.array([1, 0]), device=device), label_smoothing=0.1),
               lambda z: F.nll_loss(z.log_softmax(axis=1), tg.Tensor(np.array([1, 0]), device=device)),
               lambda z: F.binary_cross_entropy_with_logits(z, tg.ones_like(z) * 0.3),
               lambda z: F.kl_div(z.log_softmax(axis=1), tg.ones_like(z) / 3, "batchmean")):
        logits.grad = None
        loss = fn(logits)
        loss.backward()
        assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad.numpy()))


def test_huge_logits_in_float32():
    logits = tg.Tensor(np.array([[1e4, -1e4]], np.float32), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logits, [[0.0, 1.0]], reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), 2e4, rtol=1e-6)
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0]])


# ----------------------------------------------------------------------------- errors

def test_shape_and_dtype_errors_name_the_loss_and_shapes():
    x = tg.zeros(4, 3)
    with pytest.raises(tg.ShapeError, match=r"mse_loss: target shape \(4,\) differs from input shape \(4, 3\)"):
        F.mse_loss(x, tg.zeros(4))
    with pytest.raises(tg.ShapeError, match=r"cross_entropy: target of shape \(4, 1\) .* \(4, 3\); expected class indices of shape \(4,\)"):
        F.cross_entropy(x, np.zeros((4, 1), np.int64))
    with pytest.raises(tg.ShapeError, match=r"class-probability target must have the input's shape \(4, 3\), got \(4,\)"):
        F.cross_entropy(x, tg.zeros(4))
    with pytest.raises(TypeError, match="nll_loss: class-index targets must be integers, got dtype bool"):
        F.nll_loss(x, np.zeros(4, bool))
    with pytest.raises(IndexError, match=r"cross_entropy: target class 3 is out of range for 3 classes"):
        F.cross_entropy(x, [0, 1, 2, 3])
    with pytest.raises(tg.ShapeError, match=r"cross_entropy: weight must have one entry per class, shape \(3,\)"):
        F.cross_entropy(x, [0, 1, 2, 0], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="l1_loss: reduction must be one of .* got 'avg'"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"cross_entropy: ignore_index \(0\) only applies to class-index"):
        F.cross_entropy(x, tg.zeros(4, 3), ignore_index=0)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(x, [0, 1, 2, 0], label_smoothing=1.5)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction"):
        nn.CrossEntropyLoss(reduction="batchmean")


# ----------------------------------------------------------------------------- modules

def test_loss_modules_call_their_functions(rng):
    x, t = regression_pair(rng)
    logits, classes = tg.Tensor(rng.standard_normal((4, 3))), rng.integers(0, 3, 4)
    weight = rng.uniform(0.5, 2, 3)
    log_p, p = tg.Tensor(log_softmax_np(x, 1)), tg.Tensor(np.exp(log_softmax_np(t, 1)))
    pairs = [
        (nn.MSELoss(reduction="sum")(tg.Tensor(x), t), F.mse_loss(tg.Tensor(x), t, "sum")),
        (nn.L1Loss()(tg.Tensor(x), t), F.l1_loss(tg.Tensor(x), t)),
        (nn.HuberLoss(delta=0.5)(tg.Tensor(x), t), F.huber_loss(tg.Tensor(x), t, delta=0.5)),
        (nn.CrossEntropyLoss(weight, label_smoothing=0.1)(logits, classes),
         F.cross_entropy(logits, classes, weight, label_smoothing=0.1)),
        (nn.NLLLoss(ignore_index=1)(logits, classes), F.nll_loss(logits, classes, ignore_index=1)),
        (nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 0.5])(logits, tg.ones(4, 3)),
         F.binary_cross_entropy_with_logits(logits, tg.ones(4, 3), pos_weight=[2.0, 1.0, 0.5])),
        (nn.KLDivLoss("batchmean")(log_p, p), F.kl_div(log_p, p, "batchmean")),
    ]
    for module_value, function_value in pairs:
        np.testing.assert_allclose(module_value.numpy(), function_value.numpy(), rtol=1e-12)


def test_loss_module_weights_are_buffers():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])
    assert list(loss.state_dict()) == ["weight"] and list(loss.parameters()) == []
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
