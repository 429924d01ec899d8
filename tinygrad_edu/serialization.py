"""Checkpoints: ``tg.save(obj, path)`` and ``tg.load(path)``, in NumPy's ``.npz`` format.

An ``.npz`` file is a zip archive holding one ``.npy`` file (a small header with dtype and shape,
then the raw bytes) per named array. It is read here with ``allow_pickle=False``, so loading a
file, even one from a stranger, only ever creates arrays and never runs code.

What can be saved: a dict, e.g. a ``state_dict()``, or a whole training checkpoint such as
``{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}``.

- Nested dicts, lists and tuples are flattened: every leaf is stored under its path with "/"
  between the parts, e.g. ``"model/fc1.weight"`` or ``"optimizer/state/0/exp_avg"``. Dict keys
  are strings (without "/") or integers.
- Leaves are Tensors and NumPy/CuPy arrays (GPU arrays are copied to the host), Python ``int``,
  ``float``, ``bool`` and ``str`` (each stored as a 0-d array), and ``None`` (stored as nothing).
- One more entry, ``"__tinygrad_edu__"``, holds a JSON description of the structure: which
  containers, which key types, and what kind each leaf was. ``load`` uses it to give back the
  same object: a Tensor comes back as a Tensor (on ``device``), an array as a NumPy array, an
  int as an int, a tuple as a tuple.
- Any other ``.npz`` file (say, a PyTorch state_dict written with ``np.savez``) loads as a flat
  dict of name -> NumPy array, which ``Module.load_state_dict`` accepts directly.

``save(obj, path, compress=True)`` deflates every entry, as ``np.savez_compressed`` does (``load``
reads both kinds). The default stores the bytes as they are, which is faster to write and read,
and trained float32 weights hardly shrink anyway (by 7-9%: their low mantissa bits look random
to deflate). It pays for small integer arrays: an int8 checkpoint (``tinygrad-edu quantize``)
is a dozen or more small entries, and each one's 128-byte ``.npy`` header, mostly padding,
would otherwise be a visible part of the file; deflate shrinks those headers to a few dozen
bytes, and the int8 weights, which crowd around zero, by 7-10% more.

Saving is atomic: the archive is written to a temporary file in the same directory, flushed to
the disk, and only then renamed over ``path`` (``os.replace``), so a crash or a full disk in the
middle of a save leaves the previous checkpoint intact, never a half-written one. The file gets
the permissions of any new file (0666 less the umask). The temporary file's name holds the
process id, ``.NAME.PID-XXXXXXXX.tmp``: one left behind by a process that was killed in the middle
of a save (SIGKILL cannot be caught) is removed by the next save to the same path
(:func:`remove_stale_temporaries`), while a save in progress in another process is left alone.

Loading checks the first bytes before anything else: a file that is not a zip archive (an
``.npz``) is refused with a message saying so, and an entry that would need unpickling is
refused too; nothing is ever unpickled.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
from collections.abc import Mapping

import numpy as np

from . import backend
from .tensor import Tensor

STRUCTURE_ENTRY = "__tinygrad_edu__"
FORMAT_VERSION = 1
SEPARATOR = "/"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")   # a zip archive's first bytes (an empty one: the second)
NPY_MAGIC = b"\x93NUMPY"
_SCALARS = {"bool": bool, "int": int, "float": float, "str": str}   # bool first: it is an int too


class CheckpointError(ValueError):
    """A file that cannot be read as a checkpoint (corrupt, truncated, or another format)."""


# ----------------------------------------------------------------------------- save

def save(obj: Mapping, path, *, compress: bool = False) -> None:
    """Write ``obj`` (a dict, possibly nested) to ``path`` as an ``.npz`` archive, atomically;
    with ``compress=True`` every entry is deflated (``np.savez_compressed``'s format).

    The file is written exactly at ``path``; no ``.npz`` suffix is added."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"tg.save: expected a dict (such as model.state_dict()), "
                        f"got {type(obj).__name__}")
    entries: dict[str, np.ndarray] = {}
    structure = _flatten(obj, "", entries)
    if STRUCTURE_ENTRY in entries:
        raise ValueError(f"tg.save: the key {STRUCTURE_ENTRY!r} is reserved for the file format")
    description = {"format": "tinygrad_edu", "version": FORMAT_VERSION, "structure": structure}
    entries[STRUCTURE_ENTRY] = np.array(json.dumps(description))
    write_atomically(path, lambda file: _write_npz(file, entries, compress), "tg.save")


def _temporary_name(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:   # it exists, under another user
        return True
    return True


def remove_stale_temporaries(path) -> list[str]:
    """Remove the temporary files that killed saves to ``path`` left behind; returns them.

    A temporary file whose process id names no running process is stale (so is one without a
    process id, from an older version)."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    prefix, removed = f".{name}.", []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.listdir(directory):
            if not (entry.startswith(prefix) and entry.endswith(".tmp")):
                continue
            owner = entry[len(prefix):-len(".tmp")].split("-")[0]
            if owner.isdigit() and _process_is_running(int(owner)):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, entry))
                removed.append(os.path.join(directory, entry))
    return removed


def write_atomically(path, write, operation: str = "write_atomically") -> None:
    """Create ``path`` through ``write(binary_file)`` all at once or not at all.

    The bytes go to a temporary file beside ``path``, are flushed to the disk, and the file is
    renamed over ``path``; on any failure the temporary file is removed and ``path`` is as it
    was. The new file's permissions are 0666 less the umask, as for any file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{operation}: cannot write {path!r}: the directory {directory!r} "
                                f"does not exist")
    remove_stale_temporaries(path)
    temporary = _temporary_name(path)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # umask applies
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _write_npz(file, entries: dict, compress: bool = False) -> None:
    """What ``np.savez`` (or ``np.savez_compressed``) does: one ``<name>.npy`` member per array
    in a zip archive (written here directly, so that no entry name can clash with an argument
    name of ``np.savez``)."""
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, "w", compression=compression, allowZip64=True) as archive:
        for name, array in entries.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _join(path: str, key) -> str:
    return f"{path}{SEPARATOR}{key}" if path else str(key)


def _flatten(obj, path: str, entries: dict):
    """Add the leaves of ``obj`` to ``entries`` (path -> array); return the JSON structure."""
    where = repr(path) if path else "the top level"
    if isinstance(obj, Mapping):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"tg.save: dict keys must be str or int, got {key!r} at {where}")
            if isinstance(key, str) and (SEPARATOR in key or not key):
                raise ValueError(f"tg.save: dict key {key!r} at {where} must be non-empty and "
                                 f"must not contain {SEPARATOR!r} (it separates nested keys)")
            items.append([key, _flatten(value, _join(path, key), entries)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_flatten(value, _join(path, i), entries) for i, value in enumerate(obj)]}
    if obj is None:
        return {"none": None}
    if isinstance(obj, Tensor):
        kind, array = "tensor", backend.asnumpy(obj.data)
    elif backend.is_array(obj) or isinstance(obj, np.generic):
        kind, array = "array", np.asarray(backend.asnumpy(obj) if backend.is_array(obj) else obj)
    else:
        kind = next((name for name, cls in _SCALARS.items() if isinstance(obj, cls)), None)
        if kind is None:
            raise TypeError(f"tg.save: cannot store a {type(obj).__name__} at {where}; values must "
                            f"be Tensors, arrays, int, float, bool, str, None, or dicts, lists "
                            f"and tuples of them")
        array = np.array(obj)
    if array.dtype.hasobject:
        raise TypeError(f"tg.save: the value at {where} would need pickling (dtype object); "
                        f"only plain numeric, boolean and string data can be stored")
    if path in entries:
        raise ValueError(f"tg.save: two values would be stored under the same name {path!r} "
                         f"(e.g. the keys 1 and '1' in one dict)")
    entries[path] = array
    return {kind: path}


# ----------------------------------------------------------------------------- load

def load(path, device: str = "cpu", *, map_location=None, weights_only: bool = True):
    """Read a checkpoint written by ``save`` and rebuild the saved object (Tensors on ``device``).

    PyTorch's ``map_location`` (a device name) is accepted as another name for ``device``, and
    ``weights_only`` is accepted with either value: this loader never unpickles, so it always
    reads weights (and the plain values beside them) only, which is what ``weights_only=True``
    asks of PyTorch's.

    A plain ``.npz`` file without the structure entry gives a flat dict of NumPy arrays.
    Raises ``CheckpointError`` naming ``path`` for a truncated, corrupt or non-npz file."""
    path = os.fspath(path)
    if map_location is not None:
        device = str(map_location).split(":")[0]
    if os.path.isdir(path):
        raise CheckpointError(f"tg.load: {path!r} is a directory, not a checkpoint file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"tg.load: no checkpoint file at {path!r}")
    with open(path, "rb") as file:
        start = file.read(len(NPY_MAGIC))
    if start.startswith(NPY_MAGIC):
        raise CheckpointError(f"tg.load: {path!r} holds a single .npy array, not an .npz "
                              f"archive of named arrays")
    if not start.startswith(ZIP_MAGIC):
        raise CheckpointError(f"tg.load: {path!r} is not an .npz checkpoint: it does not start "
                              f"like a zip archive (first bytes {start[:4]!r})")
    try:
        with np.load(path, allow_pickle=False) as archive:
            entries = {name: archive[name] for name in archive.files}
    except Exception as error:
        reason = ("an entry holds Python objects, which only unpickling could read; this "
                  "loader never unpickles" if "pickle" in str(error)
                  else f"{type(error).__name__}: {error}")
        raise CheckpointError(f"tg.load: {path!r} is not a readable .npz checkpoint "
                              f"({reason})") from error
    description = entries.pop(STRUCTURE_ENTRY, None)
    if description is None:
        return entries
    try:
        description = json.loads(str(description))
        if description.get("format") != "tinygrad_edu" or description.get("version") != FORMAT_VERSION:
            raise CheckpointError(f"unknown format {description.get('format')!r}, version "
                                  f"{description.get('version')!r}")
        return _unflatten(description["structure"], entries, device)
    except Exception as error:
        raise CheckpointError(f"tg.load: {path!r} has a damaged structure description "
                              f"({type(error).__name__}: {error})") from error


def _unflatten(node: dict, entries: dict, device: str):
    """The object described by one node of the JSON structure."""
    (kind, content), = node.items()
    if kind == "dict":
        return {key: _unflatten(child, entries, device) for key, child in content}
    if kind in ("list", "tuple"):
        items = [_unflatten(child, entries, device) for child in content]
        return tuple(items) if kind == "tuple" else items
    if kind == "none":
        return None
    array = entries[content]
    if kind == "tensor":
        return Tensor(array, device=device)
    if kind == "array":
        return array
    return _SCALARS[kind](array.item())
