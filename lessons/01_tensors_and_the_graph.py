# %% [markdown]
# # Lesson 01: tensors and the computation graph
#
# A ``Tensor`` is an array of numbers (``.data``, a NumPy array on the CPU) plus one extra piece of
# memory: if it was computed by an operation from tensors that need gradients, it remembers that
# operation in ``.grad_fn``, and the operation remembers its inputs in ``.inputs``. Running a
# formula therefore builds a graph that points *backwards*, from the result to the leaves.
#
# We build the graph of one artificial neuron,
#
#     z = w·x + b,      y = tanh(z),
#
# and then call ``y.backward()``. The engine walks the graph from y back to the leaves and fills
# ``.grad`` of every leaf that asked for it (``requires_grad=True``) with dy/d(leaf). By hand, with
# the chain rule and d tanh(z)/dz = 1 - tanh²(z):
#
#     dy/dw = (1 - y²) · x,     dy/dx = (1 - y²) · w,     dy/db = (1 - y²).
#
# The lesson checks that the engine gets exactly these numbers.
#
# Run it:  python lessons/01_tensors_and_the_graph.py
# Check the exercises at the end:  python lessons/01_tensors_and_the_graph.py --check
#
# Read along: `tinygrad_edu/autograd.py::Function` (what an operation remembers) and
# `tinygrad_edu/backprop.py::backward` (the walk back through the graph).

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor

# %% [markdown]
# ## 1. A tensor is an array with a few labels

# %%
matrix = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])   # (2, 3)
print("a tensor:", matrix)
print("  shape", matrix.shape, " dtype", matrix.dtype, " device", matrix.device)
# Python floats become float32, the usual dtype for training (as in PyTorch).
assert matrix.shape == (2, 3) and matrix.dtype == np.float32 and matrix.device == "cpu"
# Operations broadcast like NumPy and reduce along a `dim`, as in PyTorch (NumPy's `axis=` is
# accepted too); .numpy() gives the values back as an array.
assert np.allclose((matrix * 2).sum(dim=0).numpy(), [10.0, 14.0, 18.0])
assert matrix.size() == (2, 3) and matrix.size(1) == 3   # x.size() is PyTorch's name for the shape

# %% [markdown]
# ## 2. Build a small graph

# %%
# Leaves are the tensors we create ourselves. requires_grad=True says "I want dy/d(this)".
x = Tensor(0.5, requires_grad=True)
w = Tensor(-1.5, requires_grad=True)
b = Tensor(0.25, requires_grad=True)

wx = w * x             # a Mul
z = wx + b             # an Add
y = z.tanh()           # a Tanh
print("\ny = tanh(w*x + b) =", y.item())

# Each computed tensor knows the operation that made it; leaves have no grad_fn.
assert [type(t.grad_fn).__name__ for t in (wx, z, y)] == ["Mul", "Add", "Tanh"]
left, right = z.grad_fn.inputs   # the operation remembers its inputs
assert left is wx and right is b
assert x.grad_fn is None and x.is_leaf


def show_graph(root, names):
    """Print the graph below ``root``, one node per line, indented by depth.

    An explicit stack (instead of recursion) visits the nodes depth first, the same way the
    engine's own backward walk avoids recursion so that very deep graphs work too.
    """
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        label = names.get(id(node), "")
        if node.grad_fn is None:
            print("   " * depth + f"{label} (leaf) = {node.item():.4f}")
            continue
        print("   " * depth + f"{label} = {type(node.grad_fn).__name__}(...)")
        # reversed, so that the first input is printed first
        stack.extend((parent, depth + 1) for parent in reversed(node.grad_fn.inputs))


print("the graph, from the output back to the leaves:")
show_graph(y, {id(x): "x", id(w): "w", id(b): "b", id(wx): "wx", id(z): "z", id(y): "y"})

# %% [markdown]
# ## 3. backward() walks the graph and fills .grad

# %%
assert x.grad is None   # nothing has been computed yet
y.backward()

slope = 1 - y.item() ** 2   # d tanh(z)/dz, written with the output y = tanh(z)
by_hand = {"x": slope * w.item(), "w": slope * x.item(), "b": slope}
by_engine = {"x": x.grad.item(), "w": w.grad.item(), "b": b.grad.item()}
print("\ngradient  by hand     by backward()")
for name in by_hand:
    print(f"  dy/d{name}  {by_hand[name]: .6f}   {by_engine[name]: .6f}")
    # float32 arithmetic: agreement to about 7 significant digits
    assert np.isclose(by_hand[name], by_engine[name], rtol=1e-6), name

# %% [markdown]
# ## 4. Gradients accumulate

# %%
# A second backward through a fresh graph *adds* to .grad (this is what lets a tensor used in
# several places collect every contribution). Training loops therefore reset .grad each step.
first_grad_w = w.grad.item()
(w * x + b).tanh().backward()
assert np.isclose(w.grad.item(), 2 * first_grad_w, rtol=1e-6)
print("\nafter a second backward, w.grad doubled:", w.grad.item())
w.zero_grad()
assert w.grad is None

# %% [markdown]
# ## 5. Only what needs a gradient is recorded

# %%
constant = Tensor(3.0)                       # requires_grad defaults to False
assert (constant * 2).grad_fn is None        # nothing to differentiate, so no graph
with tg.no_grad():                           # inference: skip the bookkeeping entirely
    assert (w * x).grad_fn is None
print("no graph is built for constants or inside tg.no_grad()")

print("\nLesson 01 done: a tensor remembers how it was made, and backward() follows that memory.")

# %% [markdown]
# ## Exercises
#
# 1. **A sigmoid neuron.** In `exercise_sigmoid_neuron(x, w, b)` build y = σ(w·x + b) from
#    tensors, call `backward()`, and return `(dy/dx, dy/dw, dy/db)` as floats. (By hand:
#    dσ(z)/dz = σ(z)(1 - σ(z)); compare.)
# 2. **Count the operations.** In `exercise_count_operations(y)` return how many operations
#    (distinct `grad_fn` objects) the graph below `y` holds. A tensor used twice is one node,
#    reached by two paths: count it once.
#
# Check your answers: `python lessons/01_tensors_and_the_graph.py --check`.

# %% tags=["exercises"]
import math
import types

from tinygrad_edu import Tensor


def exercise_sigmoid_neuron(x, w, b):
    """(dy/dx, dy/dw, dy/db) of y = sigmoid(w*x + b), found with backward()."""
    raise NotImplementedError("exercise sigmoid_neuron: build y from tensors, call backward()")


def exercise_count_operations(y):
    """The number of distinct operations in the graph below the tensor y."""
    raise NotImplementedError("exercise count_operations: walk grad_fn.inputs, count each once")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for x, w, b in [(0.5, -1.5, 0.25), (2.0, 0.3, -1.0)]:
        s = 1 / (1 + math.exp(-(w * x + b)))
        expected = (s * (1 - s) * w, s * (1 - s) * x, s * (1 - s))
        got = solution.exercise_sigmoid_neuron(x, w, b)
        assert all(math.isclose(g, e, rel_tol=1e-5) for g, e in zip(got, expected)), (
            f"sigmoid_neuron{(x, w, b)} gave {got}, expected {expected}: the slope of the "
            f"sigmoid is s(1 - s) with s = σ(wx + b)")
    a, b = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    shared = a * b                          # used twice below
    y = shared * shared + shared            # Mul, Mul, Add: three operations
    count = solution.exercise_count_operations(y)
    assert count == 3, (f"count_operations gave {count} for y = z*z + z with z = a*b, expected 3: "
                        f"remember which grad_fn you have already seen")
    assert solution.exercise_count_operations(Tensor(1.0, requires_grad=True)) == 0, \
        "count_operations: a leaf has no operation"
    print("all exercises pass")
