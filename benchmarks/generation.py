"""Inference techniques: the KV cache of GPT.generate, and int8 dynamic quantization.

    python -m benchmarks.generation                    # both, 1 thread
    python -m benchmarks.generation --only kv --new-tokens 256 --context 256

**KV cache.** The W3 GPT (vocab 96, 4 layers, 4 heads, width 128) with a context of
``--context`` positions (block_size), untrained (the cost of a step does not depend on the
weights). From a one-token prompt it generates ``--new-tokens`` tokens, once recomputing the
whole context at every step (``use_cache=False``) and once with the cache, from the same seed;
the script checks that both give the same tokens and prints tokens per second for each, the
median of ``--repeat`` runs taken in turns. With a 256-position context and 256 new tokens,
the last step's context is full, so one step (the one that slides the window) costs as much
with the cache as without.

**Quantization.** The MLP 784-256-256-10 and LeNet-5 on 28x28 inputs, float32 against
``quantize_dynamic``'s int8 copy, at batch 256: milliseconds per forward pass. NumPy has no
integer BLAS, so the int8 products run in NumPy's plain integer loops: the point of int8 here is
the size (a quarter of float32's), not the speed, which an int8 GEMM library would bring.
"""
from __future__ import annotations

import argparse
import statistics
import time


def _timed(run, repeat: int) -> list[list[float]]:
    """Seconds of each of the given callables, ``repeat`` times each, taken in turns."""
    times = [[] for _ in run]
    for _ in range(repeat):
        for i, step in enumerate(run):
            start = time.perf_counter()
            step()
            times[i].append(time.perf_counter() - start)
    return times


def kv_cache(context: int, new_tokens: int, repeat: int) -> dict:
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu.models import GPT
    tg.manual_seed(0)
    model = GPT(96, context, n_layer=4, n_head=4, n_embd=128)
    prompt = tg.Tensor(np.zeros((1, 1), dtype=np.int64))
    outputs = {}

    def generate(use_cache):
        def run():
            outputs[use_cache] = model.generate(prompt, new_tokens, top_k=None, use_cache=use_cache,
                                                generator=np.random.default_rng(1)).numpy()
        return run
    generate(True)()   # warm-up: kernels and caches
    uncached, cached = _timed([generate(False), generate(True)], repeat)
    if not np.array_equal(outputs[True], outputs[False]):
        raise AssertionError("cached and uncached generation gave different tokens")
    rates = {name: new_tokens / statistics.median(seconds)
             for name, seconds in (("uncached", uncached), ("cached", cached))}
    rates["speedup"] = rates["cached"] / rates["uncached"]
    return rates


def quantized_inference(repeat: int) -> list[tuple[str, float, float]]:
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu.models import CNN, MLP
    from tinygrad_edu.quantization import quantize_dynamic
    rng = np.random.default_rng(0)
    rows = []
    for name, model, shape in (("MLP 784-256-256-10", MLP([784, 256, 256, 10]), (256, 784)),
                               ("CNN (LeNet-5, 28x28)", CNN(), (256, 1, 28, 28))):
        x = tg.Tensor(rng.random(shape, dtype=np.float32))
        quantized = quantize_dynamic(model)
        with tg.no_grad():
            float_s, int8_s = _timed([lambda: model(x), lambda: quantized(x)], repeat)
        rows.append((name, 1000 * statistics.median(float_s), 1000 * statistics.median(int8_s)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generation",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("kv", "quantization"), help="run one part only")
    parser.add_argument("--context", type=int, default=256, help="GPT block_size")
    parser.add_argument("--new-tokens", type=int, default=256, help="tokens to generate")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and Numba threads")
    args = parser.parse_args(argv)
    import numba
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if args.only in (None, "kv"):
        rates = kv_cache(args.context, args.new_tokens, args.repeat)
        print(f"KV cache, GPT 4x128, context {args.context}, {args.new_tokens} new tokens, "
              f"batch 1 (same tokens both ways)")
        print(f"  without cache  {rates['uncached']:8.1f} tokens/s")
        print(f"  with cache     {rates['cached']:8.1f} tokens/s   ({rates['speedup']:.1f}x)")
    if args.only in (None, "quantization"):
        print("int8 dynamic quantization, batch 256, ms per forward pass")
        for name, float_ms, int8_ms in quantized_inference(args.repeat):
            print(f"  {name:22s} float32 {float_ms:8.2f}   int8 {int8_ms:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
