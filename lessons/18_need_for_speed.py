# %% [markdown]
# # Lesson 18: need for speed
#
# Correct first, then fast, and fast only where it matters. This lesson measures before it
# optimises:
#
# 1. **Profile** one training step and add up the time of every operation's forward and
#    backward: in a convolutional network almost all of it is the convolutions.
# 2. The **Numba convolution kernel** computes the same numbers as the NumPy reference of
#    lesson 14, compiled to machine code (the first run compiles it, in seconds, and caches it).
# 3. **Fused attention** never forms the T x T matrix of scores. It walks the keys in blocks
#    and keeps, per query, a running maximum m, a running sum l and an unnormalised output:
#    when a block raises the maximum from m to m', what was gathered so far is rescaled by
#    e^(m - m') (the "online softmax"). Memory then grows like T, not T².
# 4. **The GPU**: the same code on `device="cuda"` when CuPy and a GPU are there; otherwise the
#    numba.cuda attention kernel runs in Numba's CUDA simulator (Python threads pretending to be
#    GPU threads: slow, but the same kernel code), and the lesson says which one ran.
# 5. **One node instead of three**: for small tensors the engine's bookkeeping per graph node is
#    the cost, so the layer every network is made of, x Wᵀ + b, is one operation.
#
# Timings depend on the machine and on what else it is doing; the lesson prints them and
# asserts only what does not depend on luck: equal results, and memory's growth with T. The very
# first run also compiles the convolution and attention kernels (up to a minute on a slow
# machine, once: Numba caches the machine code on disk).
#
# Run it:  python lessons/18_need_for_speed.py
# Check the exercises at the end:  python lessons/18_need_for_speed.py --check
#
# Read along: `tinygrad_edu/kernels/__init__.py::select` (the switch),
# `tinygrad_edu/kernels/conv_cpu.py::conv2d_forward`,
# `tinygrad_edu/kernels/attention_cpu.py::attention_forward` (the online softmax),
# `tinygrad_edu/ops/fused_attention.py::FusedAttention`,
# `tinygrad_edu/kernels/attention_cuda.py::attention_forward` and
# `tinygrad_edu/ops/linear.py::Linear`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import cProfile
import os
import pstats
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor, optim
from tinygrad_edu.models import CNN
from tinygrad_edu.nn import functional as F

rng = np.random.default_rng(0)


def best_time(fn, repeats=5) -> float:
    """The fastest of a few runs, in seconds (the least disturbed by other programs)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# %% [markdown]
# ## 1. Where the time of one training step goes
#
# cProfile records every Python call; we map each `forward` and `backward` it saw (and
# `backward_arrays`, the array-level backward of the large operations) back to its `Function`
# class and add up their (cumulative) times.

# %%
def function_classes(base=Function) -> dict:
    """(file, first line) of every forward/backward method -> "Class.method"."""
    found, stack = {}, [base]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for method in ("forward", "backward", "backward_arrays"):
            code = getattr(cls.__dict__.get(method), "__code__", None)
            if code is not None:
                found[(code.co_filename, code.co_firstlineno)] = f"{cls.__name__}.{method}"
    return found


tg.manual_seed(0)
model = CNN(in_channels=1, num_classes=10, image_size=28)          # LeNet-5 (benchmark W2)
optimizer = optim.Adam(model.parameters(), lr=1e-3)
images = Tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
labels = Tensor(rng.integers(0, 10, 64))


def training_step():
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


PROFILED_STEPS = 5   # each under its own profiler; the fastest is the least disturbed


def profile_of(step) -> tuple[float, dict]:
    """One run of step() under cProfile: its total time and the cumulative time per operation."""
    profiler = cProfile.Profile()
    profiler.runcall(step)
    total, per_operation = 0.0, {}
    for (filename, line, _), (_, _, own, cumulative, _) in pstats.Stats(profiler).stats.items():
        total += own
        if (filename, line) in names:
            name = names[filename, line]
            per_operation[name] = per_operation.get(name, 0) + cumulative
    return total, per_operation


names = function_classes()
# One BLAS thread: at these sizes a second thread saves little, and when another program keeps
# the other core busy it spin-waits for it, and a tiny matrix product can take 30 ms.
with tg.kernels.use("numpy"), threadpool_limits(1):                  # the reference, no compiling
    training_step()                                                 # a first, unmeasured step
    # One pause of the OS inside an operation would make it look like the slow one: keep the
    # fastest step, as best_time does.
    step_time, per_operation = min((profile_of(training_step) for _ in range(PROFILED_STEPS)),
                                   key=lambda profile: profile[0])
ranked = sorted(per_operation.items(), key=lambda item: -item[1])
print(f"one LeNet-5 training step (fastest of {PROFILED_STEPS}), batch 64 of 28x28, "
      f"under the profiler: {step_time * 1e3:.0f} ms")
for name, seconds in ranked[:8]:
    print(f"  {name:28s} {seconds * 1e3:7.1f} ms  {seconds / step_time:5.1%}")
conv_share = sum(s for n, s in per_operation.items() if n.startswith("Conv2d")) / step_time
print(f"the convolutions' forward and backward: {conv_share:.0%} of the step")
assert ranked[0][0].startswith("Conv2d") and conv_share > 0.3, ranked[:4]

# %% [markdown]
# ## 2. The Numba convolution against the NumPy reference

# %%
x = Tensor(rng.standard_normal((64, 6, 28, 28)).astype(np.float32), requires_grad=True)
w = Tensor(rng.standard_normal((16, 6, 5, 5)).astype(np.float32), requires_grad=True)
results, timings = {}, {}
for choice in ("numpy", "numba"):
    with tg.kernels.use(choice, ops=["conv2d"]):
        assert tg.kernels.current("conv2d") == choice
        start = time.perf_counter()
        y = F.conv2d(x, w, padding=2)                               # the first call may compile
        y.backward(Tensor(np.ones(y.shape, np.float32)))
        first = time.perf_counter() - start
        results[choice] = (y.numpy(), x.grad.numpy(), w.grad.numpy())
        x.zero_grad()
        w.zero_grad()

        def conv_step():
            out = F.conv2d(x, w, padding=2)
            out.backward(Tensor(np.ones(out.shape, np.float32)))
            x.zero_grad()
            w.zero_grad()

        timings[choice] = best_time(conv_step)
    print(f"  conv2d (64, 6, 28, 28) * (16, 6, 5, 5), forward + backward, {choice:5s}: "
          f"{timings[choice] * 1e3:6.1f} ms (first call {first:.2f} s)")
for reference, kernel, name in zip(results["numpy"], results["numba"], ("y", "dL/dx", "dL/dw")):
    scale = np.abs(reference).max()
    assert np.abs(kernel - reference).max() <= 1e-4 * scale, name
print(f"same numbers (float32 rounding apart); Numba is {timings['numpy'] / timings['numba']:.1f}x "
      f"the reference's speed here, on this machine, right now")

# %% [markdown]
# ## 3. The online softmax, and the memory of attention

# %%
def online_softmax_attention(q, k, v, block=16):
    """softmax(q kᵀ/√d) v, reading the keys block by block: O(T) memory per query row."""
    m = np.full(q.shape[0], -np.inf)                                # running maximum
    l = np.zeros(q.shape[0])                                        # running Σ e^(s - m)
    acc = np.zeros((q.shape[0], v.shape[1]))                        # running Σ e^(s - m) v
    for start in range(0, k.shape[0], block):
        s = q @ k[start:start + block].T / np.sqrt(q.shape[1])      # (Tq, block)
        m_new = np.maximum(m, s.max(axis=1))
        rescale = np.exp(m - m_new)                                 # e^(m - m'): old terms shrink
        p = np.exp(s - m_new[:, None])
        l = l * rescale + p.sum(axis=1)
        acc = acc * rescale[:, None] + p @ v[start:start + block]
        m = m_new
    return acc / l[:, None]


q, k, v = (rng.standard_normal((100, 8)) for _ in range(3))
reference = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).numpy()
assert np.allclose(online_softmax_attention(q, k, v), reference, rtol=1e-12)
print("\nthe online softmax, 16 keys at a time, equals softmax(q kᵀ/√d) v")


def peak_bytes(T, choice) -> int:
    """Peak memory NumPy allocates for causal attention's forward and backward at length T."""
    q, k, v = (Tensor(rng.standard_normal((1, 2, T, 32)).astype(np.float32), requires_grad=True)
               for _ in range(3))
    with tg.kernels.use(choice, ops=["attention"]):
        tracemalloc.start()
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out.sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


peak_bytes(64, "numba")                                             # compile outside the measure
lengths = (256, 512, 1024)
peaks = {choice: [peak_bytes(T, choice) for T in lengths] for choice in ("numpy", "numba")}
for i, T in enumerate(lengths):
    print(f"  T = {T:4d}: peak memory, reference {peaks['numpy'][i] / 2**20:6.1f} MiB, "
          f"fused {peaks['numba'][i] / 2**20:5.2f} MiB")
reference_growth = peaks["numpy"][-1] / peaks["numpy"][0]
fused_growth = peaks["numba"][-1] / peaks["numba"][0]
print(f"4x the length: the reference needs {reference_growth:.1f}x the memory (T²: 16x), "
      f"the fused kernel {fused_growth:.1f}x (T: 4x)")
assert reference_growth > 10 and fused_growth < 6

# %% [markdown]
# ## 4. The GPU, or its simulator

# %%
if tg.cuda.is_available():
    q, k, v = (tg.randn(2, 4, 256, 32, device="cuda") for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    expected = F.scaled_dot_product_attention(q.cpu(), k.cpu(), v.cpu(), is_causal=True)
    assert np.allclose(out.numpy(), expected.numpy(), atol=1e-4)
    print(f"\nran on the GPU: device={out.device}, the same code with device=\"cuda\"")
else:
    script = (
        "import numpy as np\n"
        "from tinygrad_edu.kernels import attention_cuda\n"
        "from tinygrad_edu.ops.attention import scaled_dot_product_attention\n"
        "from tinygrad_edu import Tensor\n"
        "rng = np.random.default_rng(0)\n"
        "q, k, v = (rng.standard_normal((1, 6, 4)) for _ in range(3))\n"
        "out, lse = attention_cuda.attention_forward(q, k, v, True, None)\n"
        "ref = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), causal=True).numpy()\n"
        "print(float(np.abs(out - ref).max()))\n")
    environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    simulated = subprocess.run([sys.executable, "-c", script], env=environment,
                               capture_output=True, text=True, timeout=120)
    assert simulated.returncode == 0, simulated.stderr
    difference = float(simulated.stdout.split()[-1])
    print(f"\nno GPU here: the numba.cuda attention kernel ran under Numba's CUDA simulator "
          f"(NUMBA_ENABLE_CUDASIM=1) and matches the reference to {difference:.1e}")
    assert difference < 1e-10


# %% [markdown]
# ## 5. One node instead of three
#
# For small tensors the engine's own bookkeeping, not the arithmetic, is the cost: every graph
# node is a `Function` object, a Tensor, an entry in the backward walk, and a backward rule that
# itself runs more operations. `x @ W.T + b` written with Tensor operations is three nodes (a
# transpose, the product, the broadcast add), and the bias gradient is found by `sum_to`
# reducing the broadcast. `F.linear` is one `Function` (PyTorch's `addmm`) with the three
# gradients written out, dL/dx = g W, dL/dW = gᵀ x, dL/db = Σ g: the same numbers from one node.

# %%
def graph_nodes(tensor) -> int:
    """How many Functions made ``tensor`` (each counted once)."""
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.extend(parent.grad_fn for parent in fn.inputs)
    return len(seen)


x = Tensor(rng.standard_normal((128, 784)).astype(np.float32))
weight = Tensor(rng.standard_normal((256, 784)).astype(np.float32) * 0.03, requires_grad=True)
bias = Tensor(np.zeros(256, np.float32), requires_grad=True)
composed = x @ weight.T + bias                                     # (128, 256)
fused = F.linear(x, weight, bias)                                  # (128, 256)
composed_grads = tg.grad(composed.relu().sum(), [weight, bias])
fused_grads = tg.grad(fused.relu().sum(), [weight, bias])
for a, b in zip(composed_grads, fused_grads):
    assert np.allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
print(f"\nx @ W.T + b: {graph_nodes(composed)} graph nodes; F.linear: {graph_nodes(fused)}, "
      f"with the same gradients")
assert graph_nodes(composed) == 3 and graph_nodes(fused) == 1
with threadpool_limits(1):
    seconds = {name: best_time(lambda: tg.grad(layer(x, weight, bias).sum(), [weight, bias]), 20)
               for name, layer in (("composed", lambda x, w, b: x @ w.T + b),
                                   ("F.linear", F.linear))}
print(f"forward and backward of one (128, 784) -> 256 layer: {seconds['composed'] * 1e3:.2f} ms "
      f"composed, {seconds['F.linear'] * 1e3:.2f} ms as one node")

print("\nLesson 18 done: measure first; then compile the hot loop, and never hold what you can recompute.")

# %% [markdown]
# ## Exercises
#
# 1. **One online-softmax update.** `exercise_online_update(m, l, acc, scores, values)` folds
#    one block of scores (Tq, B) and its values (B, Dv) into the running state (m, l, acc) and
#    returns the new `(m, l, acc)`; at the end, `acc / l[:, None]` must be the attention output.
# 2. **Memory of the scores.** `exercise_score_bytes(batch, heads, T, dtype_bytes)` returns the
#    bytes of the (batch, heads, T, T) score matrix the reference keeps for backward.
#
# Check your answers: `python lessons/18_need_for_speed.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F


def exercise_online_update(m, l, acc, scores, values):
    """Fold a block of scores (Tq, B) with values (B, Dv) into the running (m, l, acc)."""
    raise NotImplementedError("exercise online_update: new maximum, rescale the old, add the new")


def exercise_score_bytes(batch, heads, T, dtype_bytes):
    """Bytes of a (batch, heads, T, T) array of dtype_bytes-byte numbers."""
    raise NotImplementedError("exercise score_bytes: count the entries")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((7, 4)), rng.standard_normal((20, 4)), rng.standard_normal((20, 3))
    scores = q @ k.T / 2.0                                           # √d = 2
    scores[:, 12:] += 5.0                                            # a later block raises the max
    m, l, acc = np.full(7, -np.inf), np.zeros(7), np.zeros((7, 3))
    for start in range(0, 20, 6):
        m, l, acc = solution.exercise_online_update(m, l, acc, scores[:, start:start + 6],
                                                    v[start:start + 6])
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True)) @ v
    got = acc / l[:, None]
    assert np.allclose(got, expected, rtol=1e-10), (
        f"online_update: after all blocks acc / l is off by {np.abs(got - expected).max():.2e}; "
        f"when the maximum grows, rescale both l and acc by e^(m - m')")
    assert np.allclose(m, scores.max(axis=1)), "online_update: m must be the running maximum"
    got = solution.exercise_score_bytes(16, 4, 1024, 4)
    assert got == 16 * 4 * 1024 * 1024 * 4, f"score_bytes(16, 4, 1024, 4) = {got}"
    print("all exercises pass")
