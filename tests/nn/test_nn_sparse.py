"""Embedding: lookup against NumPy, accumulation of repeated indices, padding_idx, errors, PyTorch."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


def test_lookup_matches_numpy_indexing(rng, device):
    weight = rng.standard_normal((10, 4))
    indices = rng.integers(0, 10, (3, 5))
    out = F.embedding(tg.Tensor(indices, device=device), tg.Tensor(weight, device=device))
    assert out.shape == (3, 5, 4)
    np.testing.assert_array_equal(out.numpy(), weight[indices])


def test_repeated_indices_accumulate_their_gradients(rng, device):
    weight = tg.Tensor(rng.standard_normal((6, 3)), requires_grad=True, device=device)
    indices = np.array([[1, 4, 1], [1, 0, 4]])
    upstream = rng.standard_normal((2, 3, 3))
    F.embedding(indices, weight).backward(tg.Tensor(upstream, device=device))
    expected = np.zeros((6, 3))
    for position, row in np.ndenumerate(indices):
        expected[row] += upstream[position]
    np.testing.assert_allclose(weight.grad.numpy(), expected, rtol=1e-12)
    assert np.all(weight.grad.numpy()[[2, 3, 5]] == 0)   # rows never looked up get nothing


def test_gradcheck_with_repeats(rng, device):
    weight = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True, device=device)
    indices = tg.Tensor(np.array([[0, 2, 2], [3, 0, 2]]), device=device)
    assert tg.gradcheck(lambda w: F.embedding(indices, w) * F.embedding(indices, w), [weight])


def test_module_forward_parameters_and_repr(rng):
    table = nn.Embedding(7, 5)
    assert [(n, p.shape) for n, p in table.named_parameters()] == [("weight", (7, 5))]
    ids = [[0, 6], [3, 3]]
    np.testing.assert_array_equal(table(ids).numpy(), table.weight.numpy()[np.array(ids)])
    assert table(ids).dtype == np.float32
    assert repr(table) == "Embedding(7, 5)"
    assert repr(nn.Embedding(7, 5, padding_idx=0)) == "Embedding(7, 5, padding_idx=0)"


def test_padding_row_starts_at_zero_and_never_learns(rng):
    table = nn.Embedding(5, 3, padding_idx=-1)   # negative counts from the end, as in PyTorch
    assert table.padding_idx == 4
    np.testing.assert_array_equal(table.weight.numpy()[4], np.zeros(3))
    table.weight.data[4] = 1.5   # a non-zero padding row is still shown in the output...
    ids = np.array([4, 1, 4, 2])
    out = table(ids)
    np.testing.assert_array_equal(out.numpy()[0], np.full(3, 1.5, np.float32))
    out.sum().backward()
    grad = table.weight.grad.numpy()
    np.testing.assert_array_equal(grad[4], np.zeros(3))   # ...but gets no gradient
    np.testing.assert_array_equal(grad[[1, 2]], np.ones((2, 3)))


def test_padding_gradcheck(rng):
    # the padding row deliberately gets no gradient, so the check looks at the other positions
    weight = tg.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    indices = np.array([0, 1, 1, 3, 0])
    not_padding = tg.Tensor((indices != 1).astype(np.float64)[:, None])
    assert tg.gradcheck(lambda w: F.embedding(indices, w, padding_idx=1) ** 2 * not_padding,
                        [weight])


def test_errors_name_the_values():
    weight = tg.zeros(5, 2)
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for a table of 5 rows"):
        F.embedding([0, 5], weight)
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        F.embedding([-1], weight)
    with pytest.raises(TypeError, match="embedding: indices must be integers, got dtype float32"):
        F.embedding(tg.Tensor([0.0, 1.0]), weight)
    with pytest.raises(ValueError, match=r"weight must have shape .* got \(5,\)"):
        F.embedding([0], tg.zeros(5))
    with pytest.raises(ValueError, match="Embedding: padding_idx 5 is out of range"):
        nn.Embedding(5, 2, padding_idx=5)


def test_matches_torch_with_padding(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(9, 4, padding_idx=2).double()
    ours = nn.Embedding(9, 4, padding_idx=2)
    ours.weight.data = ours.weight.data.astype(np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ids = rng.integers(0, 9, (4, 6))
    out_ours, out_theirs = ours(ids), theirs(torch.tensor(ids))
    np.testing.assert_array_equal(out_ours.numpy(), out_theirs.detach().numpy())
    upstream = rng.standard_normal((4, 6, 4))
    out_ours.backward(tg.Tensor(upstream))
    out_theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
