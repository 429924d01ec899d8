"""LayerNorm and BatchNorm: forward against NumPy, gradient checks, running statistics,
train/eval semantics, PyTorch-compatible state_dicts and values."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


def numpy_normalize(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def randomize_affine(module, rng):
    module.weight.data = rng.uniform(0.5, 1.5, module.weight.shape)
    module.bias.data = rng.standard_normal(module.bias.shape)
    return module


# ----------------------------------------------------------------------------- LayerNorm

@pytest.mark.parametrize("normalized_shape", [5, (5,), (4, 5)])
def test_layer_norm_forward_matches_numpy(normalized_shape, rng, device):
    x = rng.standard_normal((3, 4, 5)) * 3 + 1
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    weight, bias = rng.standard_normal(shape), rng.standard_normal(shape)
    out = F.layer_norm(tg.Tensor(x, device=device), normalized_shape,
                       tg.Tensor(weight, device=device), tg.Tensor(bias, device=device), eps=1e-3)
    axes = tuple(range(3 - len(shape), 3))
    np.testing.assert_allclose(out.numpy(), numpy_normalize(x, axes, 1e-3) * weight + bias,
                               rtol=1e-10, atol=1e-12)


def test_layer_norm_module_starts_as_plain_normalization(rng):
    layer = nn.LayerNorm(6)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones(6, np.float32))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(6, np.float32))
    x = rng.standard_normal((2, 6)).astype(np.float32)
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), numpy_normalize(x, (1,), 1e-5),
                               rtol=1e-5, atol=1e-6)
    assert layer(tg.Tensor(x)).dtype == np.float32


def test_layer_norm_gradcheck_input_and_parameters(rng, device):
    layer = randomize_affine(nn.LayerNorm((2, 3)), rng).double().to(device)
    x = tg.Tensor(rng.standard_normal((2, 2, 3)), requires_grad=True, device=device)
    assert tg.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 3), w, b),
                        [x, layer.weight, layer.bias])


def test_layer_norm_without_affine_and_second_derivatives(rng):
    layer = nn.LayerNorm(4, elementwise_affine=False)
    assert list(layer.parameters()) == []
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert tg.gradcheck(layer, [x])
    assert tg.gradgradcheck(layer, [x])


def test_layer_norm_shape_errors_name_the_shapes():
    with pytest.raises(tg.ShapeError, match=r"LayerNorm: .*\(8,\).*\(2, 4\)"):
        nn.LayerNorm(8)(tg.ones(2, 4))
    with pytest.raises(tg.ShapeError, match=r"layer_norm: .*\(2, 3\).*\(3,\)"):
        F.layer_norm(tg.ones(3), (2, 3))


def test_layer_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LayerNorm((3, 4), eps=1e-4).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    ours = nn.LayerNorm((3, 4), eps=1e-4).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 3, 4))
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-10)
    g = rng.standard_normal(x.shape)
    out_ours.backward(tg.Tensor(g))
    out_theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-9)


# ----------------------------------------------------------------------------- BatchNorm

BATCH_NORM_CASES = [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (2, 3, 4, 5))]
CASE_IDS = ["1d-NC", "1d-NCL", "2d-NCHW"]


@pytest.mark.parametrize("cls, shape", BATCH_NORM_CASES, ids=CASE_IDS)
def test_batch_norm_train_forward_uses_batch_statistics(cls, shape, rng, device):
    layer = randomize_affine(cls(3), rng).double().to(device)
    x = rng.standard_normal(shape) * 2 + 3
    axes = (0,) + tuple(range(2, len(shape)))
    per_channel = (1, 3) + (1,) * (len(shape) - 2)
    expected = (numpy_normalize(x, axes, 1e-5) * layer.weight.numpy().reshape(per_channel)
                + layer.bias.numpy().reshape(per_channel))
    np.testing.assert_allclose(layer(tg.Tensor(x, device=device)).numpy(), expected, rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("cls, shape", BATCH_NORM_CASES, ids=CASE_IDS)
def test_batch_norm_running_statistics_follow_the_formula(cls, shape, rng, device):
    momentum = 0.3
    layer = cls(3, momentum=momentum).double().to(device)
    axes = (0,) + tuple(range(2, len(shape)))
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(4):
        x = rng.standard_normal(shape) * 2 + 1
        layer(tg.Tensor(x, device=device))
        running_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=axes)
        running_var = (1 - momentum) * running_var + momentum * x.var(axis=axes, ddof=1)
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), running_var, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 4
    # evaluation mode normalizes with the running statistics and leaves them alone
    layer.eval()
    x = rng.standard_normal(shape)
    per_channel = (1, 3) + (1,) * (len(shape) - 2)
    expected = ((x - running_mean.reshape(per_channel))
                / np.sqrt(running_var.reshape(per_channel) + 1e-5))
    np.testing.assert_allclose(layer(tg.Tensor(x, device=device)).numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 4


def test_batch_norm_momentum_none_is_a_cumulative_average(rng):
    layer = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.standard_normal((5, 2)) for _ in range(3)]
    for x in batches:
        layer(tg.Tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(),
                               np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(),
                               np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               rtol=1e-12)


@pytest.mark.parametrize("cls, shape", BATCH_NORM_CASES, ids=CASE_IDS)
def test_batch_norm_gradcheck_training_mode(cls, shape, rng, device):
    layer = randomize_affine(cls(3), rng).double().to(device)
    x = tg.Tensor(rng.standard_normal(shape), requires_grad=True, device=device)
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias], fast=len(shape) > 2)


def test_batch_norm_gradcheck_eval_mode(rng):
    layer = randomize_affine(nn.BatchNorm2d(2), rng).double()
    layer.running_mean.data = rng.standard_normal(2)
    layer.running_var.data = rng.uniform(0.5, 2.0, 2)
    layer.eval()
    x = tg.Tensor(rng.standard_normal((2, 2, 2, 2)), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_batch_norm_functional_second_derivatives(rng):
    x = tg.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert tg.gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])


def test_batch_norm_without_running_stats_or_affine(rng):
    layer = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert list(layer.parameters()) == [] and list(layer.state_dict()) == []
    x = rng.standard_normal((5, 3))
    # no running statistics: batch statistics are used even in evaluation mode
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), numpy_normalize(x, (0,), 1e-5),
                               rtol=1e-10)


def test_batch_norm_state_dict_names_and_shapes():
    state = nn.BatchNorm2d(4).state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [state[k].shape for k in state] == [(4,), (4,), (4,), (4,), ()]
    assert state["num_batches_tracked"].dtype == np.int64
    assert [name for name, _ in nn.BatchNorm2d(4).named_parameters()] == ["weight", "bias"]


def test_batch_norm_errors_name_the_layer_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"BatchNorm2d: expected input of shape \(N, C, H, W\), got \(2, 3\)"):
        nn.BatchNorm2d(3)(tg.ones(2, 3))
    with pytest.raises(tg.ShapeError, match=r"BatchNorm1d: expected 3 channels .*\(2, 4\)"):
        nn.BatchNorm1d(3)(tg.ones(2, 4))
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        nn.BatchNorm1d(3)(tg.ones(1, 3))
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(tg.ones(2, 3), None, None, training=False)


@pytest.mark.parametrize("cls_name, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                             ("BatchNorm2d", (4, 3, 5, 5))])
def test_batch_norm_matches_torch_over_train_and_eval_steps(cls_name, shape, rng):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cls_name)(3, momentum=0.2).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    ours = getattr(nn, cls_name)(3, momentum=0.2).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(3):
        x = rng.standard_normal(shape) * 1.5 + 0.5
        x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
        g = rng.standard_normal(shape)
        out_ours.backward(tg.Tensor(g))
        out_theirs.backward(torch.tensor(g))
        np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-8)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), value.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
