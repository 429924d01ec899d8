"""Cross-entropy as one operation (ops/cross_entropy.py): the value against NumPy, gradients
against finite differences (float64) and against softmax - onehot, the array rule against the
composed one, second derivatives, and the cases that keep the general composed loss."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.ops.cross_entropy import CrossEntropy


def logits_and_targets(rng, device, n=6, classes=4, dtype=np.float64):
    logits = tg.Tensor((rng.standard_normal((n, classes)) * 3).astype(dtype), requires_grad=True,
                       device=device)
    return logits, tg.Tensor(rng.integers(0, classes, n), device=device)


def test_the_everyday_case_is_one_operation_matching_numpy(rng, device):
    logits, target = logits_and_targets(rng, device)
    loss = F.cross_entropy(logits, target)
    assert isinstance(loss.grad_fn, CrossEntropy) and loss.shape == ()
    z, t = logits.numpy(), target.numpy()
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(t)), t])
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)


def test_the_gradient_is_softmax_minus_onehot_over_n(rng, device):
    logits, target = logits_and_targets(rng, device)
    F.cross_entropy(logits, target).backward()
    z, t = logits.numpy(), target.numpy()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    softmax[np.arange(len(t)), t] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), softmax / len(t), rtol=1e-12, atol=1e-15)


def test_gradcheck_gradgradcheck_and_the_two_rules_agree(rng, device):
    logits, target = logits_and_targets(rng, device)
    loss = lambda z: F.cross_entropy(z, target)
    assert tg.gradcheck(loss, [logits]) and tg.gradgradcheck(loss, [logits])
    (fast,) = tg.grad(loss(logits), [logits])
    (recorded,) = tg.grad(loss(logits), [logits], create_graph=True)
    assert fast.grad_fn is None and recorded.grad_fn is not None
    np.testing.assert_allclose(fast.numpy(), recorded.numpy(), rtol=1e-12, atol=1e-15)


def test_float32_and_huge_logits_stay_finite(rng):
    logits = tg.Tensor(np.array([[1e4, -1e4, 0.0], [0.0, 3.0, -2.0]], np.float32),
                       requires_grad=True)
    loss = F.cross_entropy(logits, tg.Tensor([1, 2]))
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()


@pytest.mark.parametrize("case", ["ignored", "ignore_index is a class", "weights", "smoothing",
                                  "sum", "extra axis"])
def test_other_cases_keep_the_general_loss(rng, case):
    """Only the plain mean over valid classes of (N, C) logits is the one operation; the rest
    is the general composed loss (tested against PyTorch elsewhere)."""
    logits, target = logits_and_targets(rng, "cpu")
    kwargs = {"ignore_index is a class": dict(ignore_index=int(target.numpy()[0])),
              "weights": dict(weight=tg.Tensor(rng.random(4) + 0.5)),
              "smoothing": dict(label_smoothing=0.1), "sum": dict(reduction="sum")}.get(case, {})
    if case == "ignored":
        target = tg.Tensor(np.r_[target.numpy()[:-1], -100])
    if case == "extra axis":
        logits, target = logits.reshape(3, 2, 4).permute(0, 2, 1), target.reshape(3, 2)
    loss = F.cross_entropy(logits, target, **kwargs)
    assert not isinstance(loss.grad_fn, CrossEntropy) and np.isfinite(loss.item())


def test_an_out_of_range_class_still_names_the_class(rng):
    logits, _ = logits_and_targets(rng, "cpu", n=2)
    with pytest.raises(IndexError, match="target class 7 is out of range for 4 classes"):
        F.cross_entropy(logits, tg.Tensor([0, 7]))
