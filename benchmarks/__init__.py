"""Benchmarks: one training step of each workload, tinygrad_edu next to PyTorch and plain NumPy.

Run ``python -m benchmarks`` (``--help`` lists the options). The workloads are the design notes'
W1-W5 (``workloads.py``, with the PyTorch twins in ``torch_workloads.py`` and the hand-written
baselines in ``handwritten.py``) and W6, the kernels alone (``kernels.py``). Timing, thread
control and the table live in ``common.py``; PyTorch's steps run in a worker process of their
own (``pytorch_process.py``), so that the two frameworks never share a thread runtime. Nothing
here is part of the test suite: timings are measured and printed, never asserted.

This package imports nothing at the top level, so that ``__main__`` can fix the thread count of
the BLAS library before NumPy is loaded.
"""
