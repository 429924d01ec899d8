"""Smoke test of benchmarks/generation.py at tiny sizes, so that it cannot rot. Timings are
never asserted: only that both generation modes agree (the script checks that itself) and that
every number it reports is a positive rate or time."""
from benchmarks import generation


def test_kv_cache_benchmark_runs_and_checks_the_tokens():
    rates = generation.kv_cache(context=8, new_tokens=12, repeat=1)
    assert rates["cached"] > 0 and rates["uncached"] > 0 and rates["speedup"] > 0


def test_quantization_benchmark_reports_both_models():
    rows = generation.quantized_inference(repeat=1)
    assert [name.split()[0] for name, *_ in rows] == ["MLP", "CNN"]
    assert all(float_ms > 0 and int8_ms > 0 for _, float_ms, int8_ms in rows)
