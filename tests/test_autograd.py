"""The backward walk itself: sums over every path, accumulation, non-scalar seeds,
create_graph and ``tg.grad``, ``no_grad``/``detach``, a 100,000-deep chain, private gradient
buffers, and a finished graph freed by reference counting alone."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, ShapeError, sum_to
from strategies import leaf, make_array


# ----------------------------------------------------------------------------- the known traps

def test_tensor_added_to_itself_then_squared(device):
    a = tg.Tensor([1.5, -2.0], requires_grad=True, device=device)
    b = a + a
    c = b * b            # c = 4 a², dc/da = 8 a
    c.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 8 * a.numpy())
    assert b.grad is None   # only leaves keep their gradient


def test_node_reused_across_two_branches(device, rng):
    x = leaf(make_array(rng, (4,)), device)
    y = x.exp()                        # used by both branches below
    z = (y * 3.0 + y.tanh()).sum()     # dz/dx = e^x (3 + 1 - tanh²(e^x))
    z.backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), e * (3 + 1 - np.tanh(e) ** 2), rtol=1e-12)
    assert tg.gradcheck(lambda t: t.exp() * 3.0 + t.exp().tanh(), [x])


def test_diamond_with_unequal_path_lengths(device, rng):
    x = leaf(make_array(rng, (3,)), device)
    fn = lambda t: t * (t * t).exp() + t.sigmoid() * t   # noqa: E731
    assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])


def test_chain_of_100000_operations(device):
    x = tg.Tensor(1.0, dtype=np.float64, requires_grad=True, device=device)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()   # an iterative walk: no RecursionError
    assert x.grad.item() == pytest.approx(1.0001 ** 100_000, rel=1e-9)
    del y          # freeing the deep graph must not overflow the stack either


def test_backward_twice_accumulates_until_zeroed(device):
    x = tg.Tensor([1.0, 2.0], requires_grad=True, device=device)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())
    np.testing.assert_allclose(first.numpy(), 2 * x.numpy())   # accumulated out of place
    x.zero_grad()
    assert x.grad is None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_backward_with_a_gradient_for_a_non_scalar(device, rng):
    x = leaf(make_array(rng, (2, 3)), device)
    seed = make_array(rng, (2, 3))
    (x * 2.0).backward(seed)
    np.testing.assert_allclose(x.grad.numpy(), 2 * seed)
    x.grad = None
    (x * 2.0).backward(tg.Tensor(seed, device=device))
    np.testing.assert_allclose(x.grad.numpy(), 2 * seed)


def test_seed_given_as_a_list_takes_the_output_dtype(device):
    x = tg.Tensor(np.ones(2), requires_grad=True, device=device)   # float64
    x.backward([1.0, 2.0])   # a Python list would otherwise become float32
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [1.0, 2.0]


def test_backward_of_a_leaf_and_of_a_one_element_tensor(device):
    x = tg.Tensor(3.0, requires_grad=True, device=device)
    x.backward()
    assert x.grad.item() == 1.0
    y = tg.Tensor([[2.0]], requires_grad=True, device=device)
    (y * y).backward()       # one element: no gradient needed
    assert y.grad.tolist() == [[4.0]]


# ----------------------------------------------------------------------------- gradient buffers

def test_leaves_never_share_a_gradient_buffer(device):
    x = tg.Tensor([1.0, 2.0], requires_grad=True, device=device)
    w = tg.Tensor([3.0, 4.0], requires_grad=True, device=device)
    (x + w).sum().backward()   # Add hands one gradient tensor to both inputs
    assert x.grad is not w.grad and x.grad.data is not w.grad.data
    x.grad.data *= 10          # an optimizer may update .grad in place
    assert w.grad.tolist() == [1.0, 1.0]


def test_leaf_gradient_does_not_alias_the_callers_seed(device):
    x = tg.Tensor(np.zeros((2, 2)), requires_grad=True, device=device)
    seed = tg.Tensor(np.ones(4), device=device)
    x.reshape(4).backward(seed)
    seed.data[:] = 5.0
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_gradient_of_a_broadcast_is_writable(device):
    b = tg.Tensor([1.0, 2.0], requires_grad=True, device=device)
    (tg.ones(3, 2, device=device) * b).sum().backward()
    b.grad.data += 1.0
    assert b.grad.tolist() == [4.0, 4.0]


def _slices_everywhere(x):
    """x (4, 3) cut into overlapping slices, a repeated advanced index, a view of a view, and
    used whole twice: every way gradients for one tensor arrive from several uses."""
    parts = [x[0:2] * 2.0, x[1:3].exp(), x[[3, 3, 0]] * 5.0, x[1:][::2].sin(), x * x, x.tanh()]
    return sum((part * float(i + 1)).sum() for i, part in enumerate(parts))


@pytest.mark.parametrize("retain_graph", [False, True])
def test_slices_and_repeated_uses_add_up_in_one_buffer(device, rng, retain_graph):
    """The first-order walk adds slice gradients into one buffer (``add_gradient_into``) and
    sums repeated uses in place; the recorded walk (create_graph) materialises each one. Both
    must agree, and with the finite differences."""
    x = leaf(rng.standard_normal((4, 3)), device)
    _slices_everywhere(x).backward(retain_graph=retain_graph)
    fast = x.grad.numpy()
    x.grad = None
    _slices_everywhere(x).backward(create_graph=True)
    np.testing.assert_allclose(fast, x.grad.numpy(), rtol=1e-12)
    assert tg.gradcheck(_slices_everywhere, [leaf(rng.standard_normal((4, 3)), device)])


def test_a_second_backward_adds_to_a_gradient_the_walk_made(device, rng):
    """The buffer a leaf takes over without a copy must not be written by a later walk."""
    x = leaf(rng.standard_normal((4, 3)), device)
    _slices_everywhere(x).backward()
    first = x.grad
    first_values = first.numpy().copy()
    _slices_everywhere(x).backward()
    np.testing.assert_allclose(first.numpy(), first_values)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first_values, rtol=1e-12)


def test_slice_gradients_do_not_write_into_a_shared_gradient(device):
    """x + y hands one gradient array to both inputs; when x's later gets slices added, y's
    must stay as it was."""
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = tg.Tensor([0.0, 0.0, 0.0], requires_grad=True, device=device)
    s = x * 1.0                     # s gets the shared gradient of the add, then a slice's
    ((s + y).sum() + (s[1:] * 10.0).sum()).backward()
    assert y.grad.tolist() == [1.0, 1.0, 1.0]
    assert x.grad.tolist() == [1.0, 11.0, 11.0]


def test_slices_of_a_view_get_a_buffer_in_its_memory_order(device, rng):
    """q, k, v sliced off a permuted (B, T, 3, H, D) projection, as a transformer splits its
    heads: the slices' buffer follows the view's memory order, so going back through the
    permute gives the projection's gradient in its own order, contiguous, without a copy."""
    projection = leaf(rng.standard_normal((2, 5, 3, 2, 4)), device)         # (B, T, 3, H, D)
    q, k, v = (projection.permute(2, 0, 3, 1, 4)[i] for i in range(3))      # (B, H, T, D) each
    ((q * k).sum() + (v * v).sum()).backward()
    assert projection.grad.data.flags.c_contiguous
    data = projection.numpy()
    expected = np.stack([data[:, :, 1], data[:, :, 0], 2 * data[:, :, 2]], axis=2)
    np.testing.assert_allclose(projection.grad.numpy(), expected, rtol=1e-12)


# ----------------------------------------------------------------------------- create_graph, grad

class _Scale(Function):
    """z = a · w with no backward of its own: the default backward differentiates ``composed``."""

    def forward(self, a, w):
        return a * w

    def composed(self, a, w):
        return a * w


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_composed_backward_takes_partial_derivatives(create_graph, device, rng):
    """z = (x·w)·w through two one-node operations that share w: dz/dw = 2xw. The inner
    operation's path to w belongs to the outer walk; the outer operation's own backward must
    not follow it too (it once did, counting that path twice). Without create_graph the
    composed form must still be recorded to be differentiated (it once was not: no gradient)."""
    x, w = (leaf(rng.standard_normal(3), device) for _ in range(2))
    _Scale.apply(_Scale.apply(x, w), w).sum().backward(create_graph=create_graph)
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.numpy() * w.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), w.numpy() ** 2, rtol=1e-12)
    assert tg.gradgradcheck(lambda a, b: _Scale.apply(_Scale.apply(a, b), b), [x, w])

def test_create_graph_gives_second_and_third_derivatives(device):
    x = tg.Tensor([0.5, -1.5], dtype=np.float64, requires_grad=True, device=device)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad and first.grad_fn is not None
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy() ** 2)
    (second,) = tg.grad(first.sum(), x, create_graph=True)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())
    (third,) = tg.grad(second.sum(), x)
    np.testing.assert_allclose(third.numpy(), [6.0, 6.0])


def test_hessian_vector_product_of_tanh_sum(device, rng):
    x, v = make_array(rng, (5,)), make_array(rng, (5,))
    t = leaf(x, device)
    (g,) = tg.grad(t.tanh().sum(), t, create_graph=True)
    (hv,) = tg.grad((g * tg.Tensor(v, device=device)).sum(), t)
    expected = -2 * np.tanh(x) * (1 - np.tanh(x) ** 2) * v   # the Hessian is diagonal
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-12)


def test_grad_returns_gradients_and_leaves_dot_grad_alone(device, rng):
    x, w = leaf(make_array(rng, (3,)), device), leaf(make_array(rng, (3,)), device)
    y = (x * w).sum()
    gx, gw = tg.grad(y, [x, w])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    np.testing.assert_allclose(gw.numpy(), x.numpy())
    assert x.grad is None and w.grad is None and not gx.requires_grad


def test_grad_of_several_outputs_with_seeds_and_an_intermediate(device, rng):
    x = leaf(make_array(rng, (3,)), device)
    hidden = x * 2.0
    out_a, out_b = hidden.exp(), hidden * hidden
    seed_a, seed_b = make_array(rng, (3,)), make_array(rng, (3,))
    seeds = [tg.Tensor(seed_a, device=device), tg.Tensor(seed_b, device=device)]
    gx, gh = tg.grad([out_a, out_b], [x, hidden], grad_outputs=seeds)
    h = hidden.numpy()
    np.testing.assert_allclose(gh.numpy(), seed_a * np.exp(h) + seed_b * 2 * h, rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), 2 * gh.numpy(), rtol=1e-12)


def test_grad_of_unused_input(device):
    x = tg.ones(2, requires_grad=True, device=device)
    unused = tg.ones(2, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused"):
        tg.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None


# ----------------------------------------------------------------------------- no_grad, detach

def test_no_grad_records_nothing_and_restores_the_mode(device):
    x = tg.ones(2, requires_grad=True, device=device)
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    with pytest.raises(KeyError):
        with tg.no_grad():
            raise KeyError("inside")
    assert tg.is_grad_enabled()


def test_no_grad_as_a_decorator(device):
    @tg.no_grad()
    def step(t):
        return t * 3

    x = tg.ones(2, requires_grad=True, device=device)
    assert not step(x).requires_grad and tg.is_grad_enabled()


def test_detach_shares_values_and_stops_the_gradient(device):
    x = tg.Tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data is y.data
    (y * d).sum().backward()   # d is a constant: d(y·d)/dx = 3·d
    np.testing.assert_allclose(x.grad.numpy(), 3 * d.numpy())


def test_requires_grad_propagates_only_from_inputs_that_need_it(device):
    a, b = tg.ones(2, device=device), tg.ones(2, requires_grad=True, device=device)
    assert not (a * 2).requires_grad and (a * 2).grad_fn is None
    out = a * b
    assert out.requires_grad and not out.is_leaf and b.is_leaf
    assert type(out.grad_fn).__name__ == "Mul"


# ----------------------------------------------------------------------------- the fast path

class Cube(tg.Function):
    """z = a³ with both backward rules. They are made to differ on purpose (the array rule
    adds 1000) so that a test can see which one the walk took."""

    def forward(self, a):
        return a * a * a

    def backward_arrays(self, grad):
        a = self.inputs[0].data
        return grad * 3 * a * a + 1000.0

    def composed(self, a):
        return a * a * a


def test_first_order_backward_takes_the_array_rule_and_create_graph_the_tensor_one(device):
    x = tg.Tensor([1.0, 2.0], requires_grad=True, device=device)
    (first,) = tg.grad(Cube.apply(x).sum(), [x])
    np.testing.assert_allclose(first.numpy(), [1003.0, 1012.0])        # backward_arrays
    assert first.grad_fn is None
    (recorded,) = tg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    np.testing.assert_allclose(recorded.numpy(), [3.0, 12.0])          # the gradient of composed
    (second,) = tg.grad(recorded.sum(), [x])
    np.testing.assert_allclose(second.numpy(), [6.0, 12.0])            # d/dx 3x² = 6x


def test_a_function_with_neither_rule_says_so(device):
    class Opaque(tg.Function):
        def forward(self, a):
            return a * 2

    x = tg.Tensor([1.0], requires_grad=True, device=device)
    with pytest.raises(NotImplementedError, match="Opaque defines neither backward nor composed"):
        Opaque.apply(x).sum().backward()


# ----------------------------------------------------------------------------- memory

def test_a_finished_graph_is_freed_by_reference_counting(device, rng):
    gc.collect()
    gc.disable()
    try:
        x = leaf(make_array(rng, (4, 3)), device)
        w = leaf(make_array(rng, (3, 2)), device)
        hidden = (x @ w).tanh()                          # saves its output
        probs = hidden.softmax(axis=1)                   # saves its output
        loss = (probs[[0, 0, 1, 3]] * hidden.exp()).sum()   # indexing, reuse, exp
        loss.backward()
        watched = [weakref.ref(t) for t in (hidden, probs, loss)]
        watched += [weakref.ref(t.grad_fn) for t in (hidden, probs, loss)]
        del hidden, probs, loss
        assert all(ref() is None for ref in watched)
        assert x.grad.shape == (4, 3) and w.grad.shape == (3, 2)
    finally:
        gc.enable()


def test_graph_is_freed_when_backward_never_runs(device):
    gc.collect()
    gc.disable()
    try:
        x = tg.ones(3, requires_grad=True, device=device)
        y = (x.exp() * x).sigmoid()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def _collected_without_gc(make_refs) -> bool:
    """With the cycle collector off, build something, drop it (``make_refs`` returns weak
    references to what it built) and report whether reference counting alone freed it all."""
    gc.collect()
    gc.disable()
    try:
        refs = make_refs()
        return all(ref() is None for ref in refs)
    finally:
        gc.enable()


def test_grad_with_create_graph_leaves_no_cycle(device, rng):
    """tg.grad returns the gradient instead of storing it on x: nothing points back at it."""
    x = leaf(make_array(rng, (3,)), device)

    def make_refs():
        (g,) = tg.grad((x * x * x).sum(), [x], create_graph=True)   # 3x², its graph holds x
        (h,) = tg.grad(g.sum(), [x])                                 # 6x
        np.testing.assert_allclose(h.numpy(), 6 * x.numpy(), rtol=1e-6)
        return [weakref.ref(g), weakref.ref(g.grad_fn)]
    assert _collected_without_gc(make_refs)


def test_backward_with_create_graph_makes_a_cycle_exactly_when_the_gradient_depends_on_x(
        device, rng):
    """x -> x.grad -> its graph -> x: the documented cycle (as in PyTorch). A gradient that does
    not depend on x (a linear function) makes none; clearing x.grad breaks it."""
    def run(fn, clear):
        def make_refs():
            x = leaf(make_array(rng, (3,)), device)
            fn(x).sum().backward(create_graph=True)
            refs = [weakref.ref(x), weakref.ref(x.grad)]
            if clear:
                x.grad = None
            return refs
        return _collected_without_gc(make_refs)

    assert run(lambda x: x * 3.0, clear=False)              # dL/dx = 3: no path back to x
    assert not run(lambda x: x * x, clear=False)            # dL/dx = 2x: x <-> x.grad
    assert run(lambda x: x * x, clear=True)                 # x.grad = None breaks the cycle
    gc.collect()                                            # and the collector frees the rest


# ----------------------------------------------------------------------------- sum_to

@pytest.mark.parametrize("grad_shape,shape", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (1, 3)),
                                              ((4, 2, 3), (2, 1)), ((2, 3), ()), ((5, 1), (1,))])
def test_sum_to_matches_a_numpy_reference(grad_shape, shape, rng):
    grad = make_array(rng, grad_shape)
    out = sum_to(tg.Tensor(grad), shape)
    assert out.shape == shape
    expected = grad.reshape(-1, *shape).sum(axis=0) if shape == () else None
    if expected is None:
        lead = len(grad_shape) - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                          if n == 1 and grad_shape[lead + i] != 1)
        expected = grad.sum(axis=axes, keepdims=True).reshape(shape)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("grad_shape,shape", [((2, 3), (2,)), ((3,), (2, 3)), ((2, 3), (3, 2))])
def test_sum_to_rejects_shapes_that_did_not_broadcast(grad_shape, shape):
    with pytest.raises(ShapeError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        sum_to(tg.zeros(*grad_shape), shape)
