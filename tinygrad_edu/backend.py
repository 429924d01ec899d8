"""The array backends: where a tensor's numbers live.

A device is a plain string. ``"cpu"`` arrays are NumPy arrays; ``"cuda"`` arrays are CuPy arrays
on an NVIDIA GPU. NumPy and CuPy share one API (``xp.exp``, ``xp.matmul``, ...), so an operation
asks this module for the array module of its device and writes its math once.

Everything that *differs* between the two libraries lives here and nowhere else:

- which module serves a device (:func:`array_module`), and which device an array is on;
- moving arrays between host and GPU (:func:`to_device`, :func:`asnumpy`), always explicitly;
- the random generators (:func:`manual_seed`, :func:`generator`);
- scatter-add, whose name differs (``np.add.at`` vs ``cupyx.scatter_add``);
- the error function ``erf`` (SciPy on the CPU, ``cupyx.scipy.special`` on the GPU);
- how the C allocator treats the memory of freed arrays (:func:`keep_freed_memory`).
"""
from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

try:  # CuPy is an optional extra: `pip install -e ".[gpu]"`
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None

DEVICES = ("cpu", "cuda")


def cuda_available() -> bool:
    """True when CuPy is installed and can see at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy present but no driver / no device
        return False


_MODULES = {"cpu": np}


def array_module(device: str):
    """The array library for ``device``: ``numpy`` for "cpu", ``cupy`` for "cuda"."""
    module = _MODULES.get(device)
    if module is not None:
        return module
    if device == "cuda":
        if not cuda_available():
            raise RuntimeError("device 'cuda' requested, but CuPy or a usable NVIDIA GPU is missing "
                               "(install the extra with: pip install -e \".[gpu]\")")
        _MODULES["cuda"] = _cupy
        return _cupy
    raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")


def device_of(array) -> str:
    """The device an array lives on."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return "cuda"
    return "cpu"


def is_array(obj) -> bool:
    """True for a NumPy or CuPy ndarray."""
    return isinstance(obj, np.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


def to_device(array, device: str):
    """``array`` on ``device``: the same object if it is there already, else a copy."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return _cupy.asnumpy(array)
    return array_module(device).asarray(array)


def asnumpy(array) -> np.ndarray:
    """A NumPy array with the values of ``array`` (copied off the GPU when needed)."""
    return to_device(array, "cpu")


def scatter_add(target, indices, values) -> None:
    """``target[indices] += values`` where repeated indices *accumulate* (in place)."""
    if device_of(target) == "cuda":
        import cupyx
        cupyx.scatter_add(target, indices, values)
    elif (isinstance(indices, np.ndarray) and indices.dtype.kind in "iu" and target.ndim > 1
          and values.shape == indices.shape + target.shape[1:]):
        _scatter_add_rows(target, indices, values)
    else:
        np.add.at(target, indices, values)


def _scatter_add_rows(target, rows, values) -> None:
    """``np.add.at(target, rows, values)`` for whole rows picked by one integer array, the
    gradient of an embedding lookup. ``np.add.at`` adds one row at a time, about 5x slower
    here: sorting the picks by row makes the rows that go to one place neighbours, and one
    ``add.reduceat`` sums each run of them."""
    flat = rows.ravel()
    if flat.size == 0:
        return
    flat = np.where(flat < 0, flat + len(target), flat)   # -1 and n-1 are one row: one run
    order = np.argsort(flat, kind="stable")
    picked = flat[order]                                                 # (M,) sorted rows
    starts = np.flatnonzero(np.r_[True, picked[1:] != picked[:-1]])     # where each run begins
    sums = np.add.reduceat(values.reshape(flat.size, -1)[order], starts, axis=0)
    target[picked[starts]] += sums.reshape((len(starts),) + target.shape[1:])


def erf(array):
    """The error function erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, elementwise. NumPy has none, so it comes
    from SciPy on the CPU and from CuPy's copy of ``scipy.special`` on the GPU."""
    if device_of(array) == "cuda":
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(array)
    from scipy.special import erf as scipy_erf
    return scipy_erf(array)


# Random numbers: one generator per device, all reseeded by manual_seed.
_generators: dict[str, object] = {}


def manual_seed(seed: int) -> None:
    """Seed the generator of every backend, so runs repeat exactly on a given device."""
    _generators["cpu"] = np.random.default_rng(seed)
    if cuda_available():
        _generators["cuda"] = _cupy.random.default_rng(seed)


def generator(device: str):
    """The random generator of ``device`` (``numpy.random.Generator`` or CuPy's)."""
    if device not in _generators:
        _generators[device] = array_module(device).random.default_rng()
    return _generators[device]


# The memory of freed arrays. Every NumPy operation returns a new array, so one training step
# allocates (and frees) hundreds of them, up to megabytes each. By default glibc hands large freed
# blocks back to the operating system and takes them again on the next step, paying one page
# fault per 4 KB page (the kernel zeroes each page first). In a transformer step that was
# thousands of faults and a quarter of the time; a framework with its own caching allocator
# (PyTorch) never sees them. Fixing glibc's two thresholds keeps the memory with the process.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # mallopt parameter numbers, from <malloc.h>


def keep_freed_memory(max_kept_bytes: int = 2**30) -> bool:
    """Ask glibc to keep freed memory for reuse: blocks up to 32 MB come from the heap instead
    of a fresh ``mmap``, and up to ``max_kept_bytes`` of free heap stay with the process instead
    of returning to the OS. The process keeps the high-water mark of a step, which it needs again
    on the next one. Returns True when applied (Linux with glibc), False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:   # pragma: no cover - no C library to talk to
        return False
    if not hasattr(libc, "gnu_get_libc_version"):   # musl and others: leave them alone
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
                and libc.mallopt(_M_TRIM_THRESHOLD, max_kept_bytes))


# On by default; TINYGRAD_EDU_KEEP_FREED_MEMORY=0 leaves the allocator as the system set it.
FREED_MEMORY_KEPT = (os.environ.get("TINYGRAD_EDU_KEEP_FREED_MEMORY", "1") != "0"
                     and keep_freed_memory())
