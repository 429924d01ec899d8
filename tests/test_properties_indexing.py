"""Property tests (hypothesis) for the added movement and indexing operations: gather,
scatter_add, scatter and index_select on drawn shapes, dims and repeated indices (empty sides
included), compared with PyTorch in values and gradients; split, chunk and unbind round trips."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from strategies import gather_cases, make_array, shapes

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 2**32 - 1)
layouts = st.sampled_from(["contiguous", "transposed"])


def pair(array):
    """The same float64 values as a leaf of each library."""
    return tg.Tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def backward_both(out, expected, rng):
    seed = rng.standard_normal(tuple(expected.shape))
    out.backward(tg.Tensor(seed))
    expected.backward(torch.from_numpy(seed))


@SETTINGS
@given(case=gather_cases(), layout=layouts, seed=seeds)
def test_gather_matches_torch(case, layout, seed):
    shape, dim, index = case
    rng = np.random.default_rng(seed)
    x, t = pair(make_array(rng, shape, layout))
    out, expected = x.gather(dim, tg.Tensor(index)), t.gather(dim, torch.from_numpy(index))
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    backward_both(out, expected, rng)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(case=gather_cases(), layout=layouts, seed=seeds, extra=st.integers(0, 2))
def test_scatter_add_matches_torch(case, layout, seed, extra):
    """src may be larger than index (only its index-shaped corner is used). PyTorch's own
    backward rejects that case, so there src's gradient is checked against its definition,
    PyTorch's gather of the output gradient, zero-padded."""
    shape, dim, index = case
    rng = np.random.default_rng(seed)
    x, t = pair(make_array(rng, shape, layout))
    s, ts = pair(rng.standard_normal(tuple(n + extra for n in index.shape)))
    out = x.scatter_add(dim, tg.Tensor(index), s)
    expected = t.scatter_add(dim, torch.from_numpy(index), ts)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed_grad = rng.standard_normal(shape)
    out.backward(tg.Tensor(seed_grad))
    np.testing.assert_array_equal(x.grad.numpy(), seed_grad)
    expected_src = np.zeros(s.shape)
    expected_src[tuple(slice(0, n) for n in index.shape)] = torch.from_numpy(seed_grad).gather(
        dim, torch.from_numpy(index)).numpy()
    np.testing.assert_array_equal(s.grad.numpy(), expected_src)


@SETTINGS
@given(shape=shapes(1, 3, 1, 4), data=st.data(), seed=seeds)
def test_scatter_with_distinct_indices_matches_torch(shape, data, seed):
    """Each line along dim gets a permutation prefix (PyTorch leaves repeated targets undefined)."""
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(0, len(shape) - 1))
    length = data.draw(st.integers(0, shape[dim]))
    lines = np.moveaxis(np.argsort(rng.random(shape), axis=dim), dim, -1)[..., :length]
    index = np.ascontiguousarray(np.moveaxis(lines, -1, dim))
    x, t = pair(rng.standard_normal(shape))
    s, ts = pair(rng.standard_normal(index.shape))
    out = x.scatter(dim, tg.Tensor(index), s)
    expected = t.scatter(dim, torch.from_numpy(index), ts)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    backward_both(out, expected, rng)
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_array_equal(s.grad.numpy(), ts.grad.numpy())


@SETTINGS
@given(shape=shapes(1, 3, 0, 4), data=st.data(), layout=layouts, seed=seeds)
def test_index_select_matches_torch(shape, data, layout, seed):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    index = np.array(data.draw(st.lists(st.integers(0, size - 1), max_size=5) if size else
                               st.just([])), dtype=np.int64)
    x, t = pair(make_array(rng, shape, layout))
    out = x.index_select(dim, tg.Tensor(index))
    expected = t.index_select(dim, torch.from_numpy(index))
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    backward_both(out, expected, rng)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(shape=shapes(1, 3, 0, 5), data=st.data(), layout=layouts, seed=seeds)
def test_split_chunk_unbind_round_trips(shape, data, layout, seed):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    array = make_array(rng, shape, layout)
    x, t = pair(array)
    step = data.draw(st.integers(1, 6))
    chunks = data.draw(st.integers(1, 6))
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
    sections = [b - a for a, b in zip([0] + cuts, cuts + [size])]
    for ours, theirs in ((x.split(step, dim), t.split(step, dim)),
                         (x.split(sections, dim), t.split(sections, dim)),
                         (x.chunk(chunks, dim), t.chunk(chunks, dim))):
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
        np.testing.assert_array_equal(tg.cat(list(ours), dim).numpy(), array)
    pieces = x.unbind(dim)
    assert len(pieces) == size and all(p.shape == tuple(q.shape)
                                       for p, q in zip(pieces, t.unbind(dim)))
    if size:
        np.testing.assert_array_equal(tg.stack(list(pieces), dim).numpy(), array)
        weights = rng.standard_normal(size)
        sum(p * float(w) for p, w in zip(pieces, weights)).sum().backward()
        shape_along = [1] * len(shape)
        shape_along[dim] = size
        np.testing.assert_allclose(x.grad.numpy(),
                                   np.broadcast_to(weights.reshape(shape_along), shape))
