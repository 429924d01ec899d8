"""Scalar expression graphs in the style of micrograd's test_engine.py, our own expressions:
shared nodes, reflected operators with Python numbers, relu, powers and division; the value
and every leaf's gradient are compared with PyTorch."""
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")


def shared_nodes(x):
    y = 3 * x - 1 + x
    p = y.relu() + y * x
    r = (y * y).relu()
    return r + p + p * x


def reflected_ops(a, b):
    c = a * b + 2
    c = c + c * 0.5 + (-a)
    d = (b - a).relu() * 3 + b ** 3 / 4
    d = d + 1 / (d + 10) - c
    e = (c - d) ** 2
    return e / 3.0 + 7.0 / e


def deep_chain(x):
    for _ in range(20):
        x = (x * 1.1 - 0.05).tanh() + x * 0.01
    return x


def dead_relu_branch(a, b):
    return (a * -1).relu() * b + (a + b).relu()


def reused_twice_in_one_op(x):
    return x * x * x / (x + 3) - x


CASES = {
    "shared_nodes": (shared_nodes, [-4.0]),
    "reflected_ops": (reflected_ops, [-4.0, 2.0]),
    "deep_chain": (deep_chain, [0.3]),
    "dead_relu_branch": (dead_relu_branch, [1.5, -2.0]),
    "reused_twice_in_one_op": (reused_twice_in_one_op, [2.5]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_graph_matches_torch(name):
    fn, values = CASES[name]
    ours = [tg.Tensor(v, dtype=tg.float64, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out, expected = fn(*ours), fn(*theirs)
    out.backward()
    expected.backward()
    assert abs(out.item() - expected.item()) < 1e-9
    for a, t in zip(ours, theirs):
        assert abs(a.grad.item() - t.grad.item()) < 1e-9


def test_gradients_accumulate_over_two_backward_calls():
    x = tg.Tensor(2.0, dtype=tg.float64, requires_grad=True)
    t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    for lib_x in (x, t):
        (lib_x * lib_x).backward()
        (lib_x * 3).backward()
    assert x.grad.item() == t.grad.item() == 7.0
