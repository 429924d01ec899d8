"""F.distillation_loss: against a hand computation and PyTorch's kl_div + cross_entropy, its
gradient against finite differences (none reaching the teacher), and the T² scaling."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def by_hand(student, teacher, target, temperature, alpha):
    p_t, p_s = softmax(teacher / temperature), softmax(student / temperature)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum() / len(student)
    ce = -np.log(softmax(student)[np.arange(len(student)), target]).mean()
    return alpha * temperature ** 2 * kl + (1 - alpha) * ce


@pytest.mark.parametrize("temperature, alpha", [(4.0, 0.9), (1.0, 0.5), (2.5, 1.0), (3.0, 0.0)])
def test_matches_the_formula_by_hand(rng, temperature, alpha):
    student, teacher = rng.standard_normal((2, 5, 7)) * 2
    target = rng.integers(0, 7, size=5)
    loss = F.distillation_loss(Tensor(student), Tensor(teacher), Tensor(target), temperature,
                               alpha)
    np.testing.assert_allclose(loss.item(), by_hand(student, teacher, target, temperature, alpha),
                               rtol=1e-12)


def test_matches_torch_kl_div_and_cross_entropy(rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    student, teacher = rng.standard_normal((2, 6, 10))
    target = rng.integers(0, 10, size=6)
    s = torch.tensor(student, requires_grad=True)
    t, y = torch.tensor(teacher), torch.tensor(target)
    expected = 0.7 * 9 * tf.kl_div(tf.log_softmax(s / 3, 1), tf.softmax(t / 3, 1),
                                   reduction="batchmean") + 0.3 * tf.cross_entropy(s, y)
    expected.backward()
    ours_s = Tensor(student, requires_grad=True)
    loss = F.distillation_loss(ours_s, Tensor(teacher), Tensor(target), temperature=3.0, alpha=0.7)
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(ours_s.grad.numpy(), s.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gradcheck_and_no_gradient_into_the_teacher(rng):
    student = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    teacher = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = Tensor(rng.integers(0, 4, size=3))
    assert tg.gradcheck(lambda s: F.distillation_loss(s, teacher, target), [student])
    assert tg.gradgradcheck(lambda s: F.distillation_loss(s, teacher, target), [student])
    F.distillation_loss(student, teacher, target).backward()
    assert teacher.grad is None and student.grad is not None


def test_t_squared_keeps_the_soft_gradient_on_one_scale(rng):
    """Without T², the soft term's gradient shrinks like 1/T²; with it, it stays put."""
    student, teacher = rng.standard_normal((2, 8, 10)) * 0.5
    target = Tensor(np.zeros(8, dtype=np.int64))
    norms = []
    for temperature in (5.0, 20.0):
        s = Tensor(student, requires_grad=True)
        F.distillation_loss(s, Tensor(teacher), target, temperature, alpha=1.0).backward()
        norms.append(np.linalg.norm(s.grad.numpy()))
    assert 0.9 < norms[1] / norms[0] < 1.1   # without the T², the ratio would be 1/16


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0.0}, "temperature.*0.0"),
                                             ({"alpha": 1.5}, "alpha.*1.5")])
def test_bad_settings_name_the_value(kwargs, message):
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="distillation_loss: " + message):
        F.distillation_loss(z, z, Tensor(np.zeros(2, dtype=np.int64)), **kwargs)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match=r"distillation_loss.*\(2, 3\) and \(2, 4\)"):
        F.distillation_loss(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4))),
                            Tensor(np.zeros(2, dtype=np.int64)))
