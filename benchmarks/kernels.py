"""W6: the kernels alone. conv2d and causal attention, forward + backward, Numba vs the reference.

    python -m benchmarks.kernels                  # CPU, 2 threads (or fewer cores)
    python -m benchmarks.kernels --repeat 50 --markdown
    python -m benchmarks.kernels --device cuda    # CuPy reference vs the numba.cuda kernels

**What one step is.** conv2d: the array functions ``conv2d_forward`` then ``conv2d_backward``,
of the reference (``ops/conv.py``: im2col + matrix products) and of ``kernels/conv_cpu.py``,
on the same float32 arrays. Attention: causal self-attention of float32 tensors
(batch·heads, T, D), output and backward pass through the engine, once with the reference
(``ops/attention.py``, Tensor operations holding the T×T scores) and once fused
(``ops/fused_attention.py`` calling ``kernels/attention_cpu.py``).

**Timing.** The kernels are compiled first (``tg.kernels.warmup()``). Then, after warm-up steps,
the two implementations take turns, step by step, so that a burst of load from another process
hits both; the table shows the median per step and the ratio reference / Numba (above 1: the
kernel is faster). The largest sizes run fewer steps. Run it on an otherwise idle machine: with
two threads on two cores, one core taken by another process stalls NumPy's BLAS and Numba's
threads at every synchronization, and the timings become meaningless (``--threads 1`` is less
sensitive to that).

**Memory.** For attention at T = 256, 1024 and 4096 (batch·heads = 4, D = 32) the peak of the
memory allocated during one forward + backward pass, measured with ``tracemalloc``, which sees
every NumPy array (NumPy reports its allocations to it). Numba's own allocations inside a
kernel are invisible to it: the fused kernels allocate their outputs in Python, so what remains
unseen is a few 64 × 64 blocks per thread (and, in the backward, dK and dV of the sequence a
thread works on), which grow with T linearly, not quadratically.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

from .common import default_threads, limit_threads, measure, wanted_environment

# (label, x shape, weight shape, stride, padding): the LeNet-5 layers of W2, then wider ones
CONV_CASES = [
    ("LeNet conv1 64x1x28x28, 6 filters 5x5 pad 2", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2),
    ("LeNet conv2 64x6x14x14, 16 filters 5x5", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    ("64x3x32x32, 64 filters 3x3 pad 1", (64, 3, 32, 32), (64, 3, 3, 3), 1, 1),
    ("64x16x32x32, 32 filters 3x3 stride 2 pad 1", (64, 16, 32, 32), (32, 16, 3, 3), 2, 1),
    ("64x64x16x16, 64 filters 3x3 pad 1", (64, 64, 16, 16), (64, 64, 3, 3), 1, 1),
]
# (batch·heads, T, D) for causal attention; the last sizes are slow for the reference
ATTENTION_CASES = [(64, 16, 32), (64, 32, 32), (64, 64, 32), (64, 128, 32), (64, 256, 32),
                   (64, 512, 32), (16, 1024, 64)]
MEMORY_LENGTHS = (256, 1024, 4096)
MEMORY_HEADS, MEMORY_DIM = 4, 32


def _interleaved(steps: dict, repeat: int, warmup: int, synchronize) -> dict:
    """Median milliseconds per step of each of ``steps``, taking turns step by step."""
    times = {name: [] for name in steps}
    for _ in range(warmup):
        for step in steps.values():
            step()
    for _ in range(repeat):
        for name, step in steps.items():
            times[name].append(measure(step, repeat=1, warmup=0, synchronize=synchronize).median_ms)
    return {name: sorted(values)[len(values) // 2] for name, values in times.items()}


def _conv_steps(device: str, xp):
    """{label: {"reference": step, "numba": step}} for every conv case."""
    from tinygrad_edu import kernels
    from tinygrad_edu.ops import conv as reference
    from tinygrad_edu.ops.window import conv_geometry

    kernel = kernels.kernel_module("conv2d", device)
    rng = xp.random.default_rng(0)
    cases = {}
    for label, x_shape, w_shape, stride, padding in CONV_CASES:
        x = rng.standard_normal(x_shape, dtype=xp.float32)
        w = rng.standard_normal(w_shape, dtype=xp.float32)
        geometry = conv_geometry(x_shape, w_shape, (stride, stride), (padding, padding), (1, 1), 1)

        def step(impl, x=x, w=w, geometry=geometry):
            y = impl.conv2d_forward(x, w, geometry)
            return impl.conv2d_backward(y, x, w, geometry)
        cases[label] = {"reference": lambda step=step: step(reference),
                        "numba": lambda step=step: step(kernel)}
    return cases


def _conv_path(label, device) -> str:
    """Which of the CPU kernel's two strategies runs this case: " [direct]" or " [im2col]"."""
    if device != "cpu":
        return ""
    import numpy as np
    from tinygrad_edu.kernels import conv_cpu

    _, _, w_shape, stride, _ = next(case for case in CONV_CASES if case[0] == label)
    direct = conv_cpu._runs_direct(np.empty(w_shape), (stride, stride), 1)
    return " [direct]" if direct else " [im2col]"


def _attention_step(n, t, d, device, fused: bool, seed=0):
    """One causal attention forward + backward on float32 tensors (n, t, d)."""
    import numpy as np

    import tinygrad_edu as tg
    from tinygrad_edu import kernels
    from tinygrad_edu.ops.attention import scaled_dot_product_attention
    from tinygrad_edu.ops.fused_attention import fused_attention

    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, t, d)).astype(np.float32) for _ in range(4)]
    q, k, v, grad = (tg.Tensor(a, device=device) for a in arrays)
    impl = kernels.kernel_module("attention", device)

    def step():
        inputs = [tensor.detach().requires_grad_() for tensor in (q, k, v)]
        if fused:
            out = fused_attention(*inputs, causal=True, impl=impl)
        else:
            out = scaled_dot_product_attention(*inputs, causal=True)
        out.backward(grad)
        return [tensor.grad for tensor in inputs]
    return step


def _peak_megabytes(step) -> float:
    """The peak of memory allocated (and traced) while ``step`` runs, in MB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        step()
        return (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()


def _format(header, rows, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(line[i]) for line in [header] + rows) for i in range(len(header))]
    render = lambda line: "  ".join(text.ljust(w) if i == 0 else text.rjust(w)  # noqa: E731
                                    for i, (text, w) in enumerate(zip(line, widths)))
    return "\n".join([render(header), "-" * len(render(header))] + [render(r) for r in rows])


def run(repeat: int = 20, threads: int | None = None, device: str = "cpu",
        markdown: bool = False, memory: bool = True) -> None:
    """Print the W6 tables: timings, then (on the CPU) peak memory of attention."""
    threads = threads or default_threads()
    notes = limit_threads(threads)
    import tinygrad_edu as tg

    if device == "cuda" and not tg.cuda.is_available():
        print("W6 (cuda): no GPU with CuPy here: skipped")
        return
    xp = tg.backend.array_module(device)
    synchronize = (lambda: xp.cuda.Device().synchronize()) if device == "cuda" else None
    started = time.perf_counter()
    compile_seconds = tg.kernels.warmup() if device == "cpu" else 0.0
    print(f"W6: kernels alone on {device}, {threads} thread(s), float32, median of {repeat} steps "
          f"(kernel compilation / cache load before timing: {compile_seconds:.1f} s)")

    rows = []
    for label, steps in _conv_steps(device, xp).items():
        times = _interleaved(steps, repeat, 2, synchronize)
        rows.append(["conv2d " + label + _conv_path(label, device), f"{times['reference']:.2f}",
                     f"{times['numba']:.2f}", f"{times['reference'] / times['numba']:.2f}x"])
    for n, t, d in ATTENTION_CASES:
        steps = {"reference": _attention_step(n, t, d, device, fused=False),
                 "numba": _attention_step(n, t, d, device, fused=True)}
        times = _interleaved(steps, max(3, repeat // (1 + t // 256)), 1, synchronize)
        rows.append([f"causal attention {n}x{t}x{d}", f"{times['reference']:.2f}",
                     f"{times['numba']:.2f}", f"{times['reference'] / times['numba']:.2f}x"])
    print(_format(["forward + backward", "reference ms", "numba ms", "speedup"], rows, markdown))

    if memory and device == "cpu":
        print(f"\nPeak traced memory of one causal attention forward + backward, "
              f"{MEMORY_HEADS} heads, D = {MEMORY_DIM}, float32:")
        memory_rows = []
        for t in MEMORY_LENGTHS:
            peaks = [_peak_megabytes(_attention_step(MEMORY_HEADS, t, MEMORY_DIM, device, fused))
                     for fused in (False, True)]
            memory_rows.append([f"T = {t}", f"{peaks[0]:.1f}", f"{peaks[1]:.1f}",
                                f"{peaks[0] / peaks[1]:.0f}x"])
        print(_format(["sequence", "reference MB", "fused MB", "ratio"], memory_rows, markdown))
    for note in notes:
        print(f"note: {note}")
    print(f"(W6 took {time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels",
                                     description="W6: conv2d and attention kernels vs reference.")
    parser.add_argument("--repeat", type=int, default=20, help="timed steps per implementation")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    args = parser.parse_args(argv)
    # NumPy's BLAS sizes its thread pool when it is loaded: start again with the variables set.
    wanted = wanted_environment(args.threads, False)
    if any(os.environ.get(name) != value for name, value in wanted.items()) \
            and not os.environ.get("TINYGRAD_EDU_W6_RESTARTED"):
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.kernels", *argv],
                  {**os.environ, **wanted, "TINYGRAD_EDU_W6_RESTARTED": "1"})
    run(args.repeat, args.threads, args.device, args.markdown, memory=not args.no_memory)


if __name__ == "__main__":
    main()
