"""Movement and indexing: reshape, transpose/permute, flatten, squeeze/unsqueeze, expand, pad,
``x[...]`` (basic and integer-array indexing), cat and stack — forward against NumPy, first and
second derivatives against finite differences."""
import numpy as np
import pytest

import tinygrad_edu as tg
from strategies import leaf, make_array

# name: (input shape, tensor function, NumPy reference)
MOVES = {
    "reshape": ((2, 3, 4), lambda t: t.reshape(6, 4), lambda a: a.reshape(6, 4)),
    "reshape_tuple_infer": ((2, 3, 4), lambda t: t.reshape((4, -1)), lambda a: a.reshape(4, -1)),
    "view": ((2, 3), lambda t: t.view(3, 2), lambda a: a.reshape(3, 2)),
    "transpose_swap": ((2, 3, 4), lambda t: t.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    "transpose_negative": ((2, 3, 4), lambda t: t.transpose(-1, -2), lambda a: a.swapaxes(-1, -2)),
    "T_reverse": ((2, 3, 4), lambda t: t.T, lambda a: a.transpose()),
    "T": ((2, 3), lambda t: t.T, lambda a: a.T),
    "mT": ((2, 3, 4), lambda t: t.mT, lambda a: a.swapaxes(-1, -2)),
    "permute": ((2, 3, 4), lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    "flatten": ((2, 3, 4), lambda t: t.flatten(), lambda a: a.reshape(-1)),
    "flatten_from_1": ((2, 3, 4, 1), lambda t: t.flatten(1), lambda a: a.reshape(2, -1)),
    "flatten_middle": ((2, 3, 4, 5), lambda t: t.flatten(1, 2), lambda a: a.reshape(2, 12, 5)),
    "squeeze_all": ((1, 3, 1, 2), lambda t: t.squeeze(), lambda a: a.squeeze()),
    "squeeze_axis": ((1, 3, 1, 2), lambda t: t.squeeze(2), lambda a: a.squeeze(2)),
    "squeeze_long_axis_stays": ((1, 3), lambda t: t.squeeze(1), lambda a: a),
    "unsqueeze_front": ((2, 3), lambda t: t.unsqueeze(0), lambda a: a[None]),
    "unsqueeze_back": ((2, 3), lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    "unsqueeze_middle": ((2, 3), lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    "expand": ((3, 1), lambda t: t.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4))),
    "expand_keep": ((3, 1), lambda t: t.expand((-1, 5)), lambda a: np.broadcast_to(a, (3, 5))),
    "pad": ((2, 3), lambda t: t.pad(((0, 1), (2, 1))),
            lambda a: np.pad(a, ((0, 1), (2, 1)))),
    "pad_value_one_pair": ((2, 3), lambda t: t.pad((1, 1), value=1.5),
                           lambda a: np.pad(a, 1, constant_values=1.5)),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", sorted(MOVES))
def test_movement_forward_and_gradients(name, layout, device, rng):
    shape, ours, reference = MOVES[name]
    x = leaf(make_array(rng, shape, layout), device)
    out = ours(x)
    expected = reference(x.numpy())
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    assert tg.gradcheck(ours, [x])
    assert tg.gradgradcheck(ours, [x])


def test_movements_of_a_scalar_tensor(device):
    x = tg.Tensor(np.array(1.5), requires_grad=True, device=device)
    assert x.reshape(1, 1).shape == (1, 1) and x.flatten().shape == (1,)
    assert x.T.shape == () and x.squeeze().shape == () and x.squeeze(0).shape == ()
    assert x.unsqueeze(0).shape == (1,) and x.expand(2, 3).shape == (2, 3)
    x.expand(2, 3).sum().backward()
    assert x.grad.item() == 6.0


def test_flatten_of_an_empty_tensor(device):
    x = tg.zeros(2, 0, 3, device=device)
    assert x.flatten(1).shape == (2, 0) and x.flatten().shape == (0,)


# ----------------------------------------------------------------------------- indexing

INDICES = {
    "int": 1,
    "negative_int": -1,
    "slice": slice(1, 3),
    "tuple": (slice(None), 2),
    "int_and_slice": (0, slice(1, None)),
    "negative_step": slice(None, None, -1),
    "negative_step_inner": (slice(None), slice(None, None, -2)),
    "none": (None, slice(1, 3)),
    "ellipsis": (Ellipsis, 1),
    "ellipsis_none": (Ellipsis, None),
    "int_array_repeats": [0, 0, 2],
    "int_array_inner": (slice(None), np.array([3, 1, 3, 3])),
    "two_arrays": (np.array([0, 2, 2]), np.array([1, 1, 0])),
    "array_2d": np.array([[0, 1], [1, 0]]),
    "boolean_mask": np.array([True, False, True]),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem_forward_and_gradients(name, layout, device, rng):
    index = INDICES[name]
    x = leaf(make_array(rng, (3, 4), layout), device)
    out = x[index]
    expected = x.numpy()[index if not isinstance(index, list) else np.array(index)]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    fn = lambda t: t[index]   # noqa: E731
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


def test_integer_array_indexing_accumulates_repeated_picks(device):
    x = tg.Tensor([10.0, 20.0, 30.0], requires_grad=True, device=device)
    picked = x[[0, 2, 0, 0]]
    np.testing.assert_array_equal(picked.numpy(), [10.0, 30.0, 10.0, 10.0])
    (picked * tg.Tensor([1.0, 2.0, 3.0, 4.0], device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0 + 3.0 + 4.0, 0.0, 2.0])


def test_index_by_integer_tensor(device, rng):
    x = leaf(make_array(rng, (5, 2)), device)
    rows = tg.Tensor(np.array([4, 0, 4]), device=device)
    np.testing.assert_array_equal(x[rows].numpy(), x.numpy()[[4, 0, 4]])
    x[rows].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [1, 0, 0, 0, 2])


def test_iterating_over_a_tensor_yields_its_rows(device):
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    (rows[0] * rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 4.0], [1.0, 2.0]])


# ----------------------------------------------------------------------------- cat and stack

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_forward_and_gradients(axis, device, rng):
    shapes = {0: [(2, 3), (1, 3), (4, 3)], 1: [(2, 1), (2, 3), (2, 2)], -1: [(2, 2), (2, 1)]}[axis]
    xs = [leaf(make_array(rng, s, "transposed"), device) for s in shapes]
    out = tg.cat(xs, axis=axis)
    np.testing.assert_array_equal(out.numpy(), np.concatenate([x.numpy() for x in xs], axis=axis))
    fn = lambda *ts: tg.cat(ts, axis=axis)   # noqa: E731
    assert tg.gradcheck(fn, xs)
    assert tg.gradgradcheck(fn, xs)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_forward_and_gradients(axis, device, rng):
    xs = [leaf(make_array(rng, (2, 3)), device) for _ in range(3)]
    out = tg.stack(xs, axis=axis)
    np.testing.assert_array_equal(out.numpy(), np.stack([x.numpy() for x in xs], axis=axis))
    fn = lambda *ts: tg.stack(ts, axis=axis)   # noqa: E731
    assert tg.gradcheck(fn, xs)
    assert tg.gradgradcheck(fn, xs)


def test_cat_with_a_constant_input(device, rng):
    a = leaf(make_array(rng, (2, 3)), device)
    b = leaf(make_array(rng, (1, 3)), device, requires_grad=False)
    tg.cat([a, b]).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.ones((2, 3)))
    assert b.grad is None


# ----------------------------------------------------------------------------- devices

def test_to_the_same_device_is_the_same_tensor(device):
    x = tg.ones(2, device=device, requires_grad=True)
    assert x.to(device) is x
    assert x.cpu().device == "cpu"
    x.cpu().sum().backward()
    assert x.grad.device == device and x.grad.tolist() == [1.0, 1.0]
