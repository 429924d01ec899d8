"""Text for character-level language models: a corpus, a vocabulary, and (x, y) windows.

The default corpus
------------------
``load_text()`` with no path returns Python's own standard library source code, which is present
on every machine that runs this library: every ``.py`` file under
``sysconfig.get_paths()["stdlib"]``, sorted by their path relative to that directory (``/``
separators), each read as UTF-8 and ending in a newline, concatenated, and cut to the first
``DEFAULT_MAX_CHARS`` = 5,000,000 characters. Directories named ``test``, ``tests``,
``site-packages`` and ``dist-packages`` are left out (test data is full of deliberately odd text,
and installed packages differ between machines). ``load_text(path)`` reads your own file instead.

The character vocabulary
------------------------
By default text is reduced to 96 symbols (``ASCII_CHARS``): newline and the 95 printable ASCII
characters from space (0x20) to tilde (0x7E), numbered in code-point order, so ``'\\n'`` is 0,
``' '`` is 1 and ``'~'`` is 95. The rule (:func:`to_ascii`): ``\\r\\n`` and ``\\r`` become ``\\n``,
a tab becomes four spaces, and every other character outside the 96 becomes ``'?'``.
``CharVocab.from_text(text)`` builds the vocabulary of any text instead (its sorted characters).

Training pairs
--------------
A character model reads ``block_size`` characters and predicts, at every position, the next
one. So a training example is a window of ``block_size + 1`` ids cut from the encoded text,
split into input and target shifted by one:

    text ids   ... 17  42  42  51  3 ...
    x          [17, 42, 42, 51]          y  [42, 42, 51, 3]        y[t] = x[t + 1]

:func:`random_text_batches` draws ``batch_size`` such windows at random starting points,
giving x and y of shape ``(B, T)``.

10% of the text is held out for validation (:func:`split_train_val`), so the validation loss
measures text the model never trained on. The held-out part is spread over the whole text: it
is cut into 100 equal runs, and runs 10, 20, .., 100 are validation. Simply keeping the last
10% would make validation a different kind of text: in the standard library, sorted by path,
the last tenth is mostly ``encodings/`` codec tables (long lists of hexadecimal numbers), on
which a model trained on ordinary code scores far worse than on code it has not seen.
"""
from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import numpy as np

from .dataset import host_array, make_generator
from .loader import to_tensors

DEFAULT_MAX_CHARS = 5_000_000
VAL_FRACTION = 0.1
VAL_PIECES = 100
ASCII_CHARS = "\n" + "".join(chr(code) for code in range(0x20, 0x7F))   # the 96 symbols
REPLACEMENT_CHAR = "?"
_SKIPPED_DIRS = {"test", "tests", "site-packages", "dist-packages", "__pycache__"}


def _code_points(text: str) -> np.ndarray:
    """The Unicode code point of every character of ``text``, as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _from_code_points(codes: np.ndarray) -> str:
    return np.asarray(codes, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")


def to_ascii(text: str) -> str:
    """``text`` in the 96 symbols of ``ASCII_CHARS`` (rule in the module docstring)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    codes = _code_points(text)
    outside = ~(((codes >= 0x20) & (codes <= 0x7E)) | (codes == 0x0A))
    if not outside.any():
        return text
    codes = np.where(outside, ord(REPLACEMENT_CHAR), codes)
    return _from_code_points(codes)


def stdlib_sources() -> list[Path]:
    """The standard library's ``.py`` files that make up the default corpus, in corpus order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in _SKIPPED_DIRS]
        files += [Path(directory) / name for name in names if name.endswith(".py")]
    return sorted(files, key=lambda file: file.relative_to(root).as_posix())


def load_text(path=None, max_chars: int | None = None, ascii: bool = True) -> str:
    """The training text: the file at ``path``, or Python's standard library source.

    ``max_chars`` caps the length (default: 5,000,000 for the standard library, the whole file
    for ``path``); ``ascii=True`` reduces the text to the 96 symbols with :func:`to_ascii`.
    """
    if path is not None:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        text = to_ascii(text) if ascii else text
        return text if max_chars is None else text[:max_chars]
    limit = DEFAULT_MAX_CHARS if max_chars is None else max_chars
    pieces, total = [], 0
    for file in stdlib_sources():
        if total >= limit:
            break
        piece = file.read_text(encoding="utf-8", errors="replace")
        piece = piece if piece.endswith("\n") else piece + "\n"
        piece = to_ascii(piece) if ascii else piece
        pieces.append(piece)
        total += len(piece)
    return "".join(pieces)[:limit]


class CharVocab:
    """A numbered list of characters: ``encode`` text to int64 ids, ``decode`` ids to text.

    >>> vocab = CharVocab.ascii()
    >>> vocab.decode(vocab.encode("hi\\n")) == "hi\\n"
    True
    """

    def __init__(self, chars):
        chars = list(chars)
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"CharVocab: every entry must be a single character, got {char!r}")
        if len(set(chars)) != len(chars):
            repeated = sorted({char for char in chars if chars.count(char) > 1})
            raise ValueError(f"CharVocab: characters must be unique, repeated: {repeated}")
        if not chars:
            raise ValueError("CharVocab: the vocabulary is empty")
        self.chars = tuple(chars)
        self.stoi = {char: index for index, char in enumerate(chars)}
        self.codes = np.array([ord(char) for char in chars], dtype=np.int64)   # id -> code point
        self._ids_by_code = np.argsort(self.codes)        # ids, ordered by their code points
        self._sorted_codes = self.codes[self._ids_by_code]

    @classmethod
    def ascii(cls) -> "CharVocab":
        """The default 96-symbol vocabulary: ``'\\n'`` then space .. ``'~'``."""
        return cls(ASCII_CHARS)

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The sorted distinct characters of ``text`` (as nanoGPT's char-level data does)."""
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other) -> bool:
        return isinstance(other, CharVocab) and self.chars == other.chars

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters: {''.join(self.chars)[:40]!r}...)"

    def encode(self, text: str, errors: str = "strict") -> np.ndarray:
        """The id of every character of ``text``, int64 ``(len(text),)``.

        A character outside the vocabulary raises ``ValueError`` (``errors="strict"``) or is
        encoded as ``'?'`` (``errors="replace"``, when ``'?'`` is in the vocabulary).
        """
        if errors not in ("strict", "replace"):
            raise ValueError(f"CharVocab.encode: errors must be 'strict' or 'replace', "
                             f"got {errors!r}")
        codes = _code_points(text).astype(np.int64)
        slot = np.searchsorted(self._sorted_codes, codes).clip(max=len(self) - 1)
        known = self._sorted_codes[slot] == codes
        ids = self._ids_by_code[slot]
        if not known.all():
            first = int(np.flatnonzero(~known)[0])
            if errors == "strict" or REPLACEMENT_CHAR not in self.stoi:
                raise ValueError(f"CharVocab.encode: character {text[first]!r} "
                                 f"(U+{ord(text[first]):04X}) at position {first} is not in this "
                                 f"{len(self)}-character vocabulary"
                                 + ("; encode(text, errors='replace') maps it to '?'"
                                    if REPLACEMENT_CHAR in self.stoi else ""))
            ids = np.where(known, ids, self.stoi[REPLACEMENT_CHAR])
        return ids.astype(np.int64)

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids (list, NumPy array or Tensor)."""
        ids = host_array(ids).astype(np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"CharVocab.decode: ids must lie in [0, {len(self)}), got values "
                             f"from {ids.min()} to {ids.max()}")
        return _from_code_points(self.codes[ids])

    def to_array(self) -> np.ndarray:
        """The vocabulary as int32 code points, to store in a checkpoint next to the weights."""
        return self.codes.astype(np.int32)

    @classmethod
    def from_array(cls, array) -> "CharVocab":
        """The vocabulary saved by :meth:`to_array`."""
        return cls(chr(int(code)) for code in host_array(array).reshape(-1))


def split_train_val(data, val_fraction: float = VAL_FRACTION, pieces: int = VAL_PIECES):
    """``(train, val)`` of a text (a string or 1-D ids): ``data`` is cut into ``pieces`` runs of
    equal length, and ``round(pieces * val_fraction)`` of them, evenly spread (the 10th, 20th,
    .., 100th of 100), are joined in order into the validation part; the others, in order, into
    the training part. A window drawn across the seam of two joined runs is slightly odd text;
    with runs of 50,000 characters that is about one window in a thousand."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"split_train_val: val_fraction must be in [0, 1), got {val_fraction}")
    if pieces < 1:
        raise ValueError(f"split_train_val: pieces must be >= 1, got {pieces}")
    count = round(pieces * val_fraction)
    val_pieces = {(k + 1) * pieces // count - 1 for k in range(count)}
    bounds = [len(data) * p // pieces for p in range(pieces + 1)]
    runs = [data[bounds[p]:bounds[p + 1]] for p in range(pieces)]
    join = "".join if isinstance(data, str) else np.concatenate
    train = join([run for p, run in enumerate(runs) if p not in val_pieces])
    val = join([run for p, run in enumerate(runs) if p in val_pieces]) if count else data[:0]
    return train, val


def random_text_batches(data, block_size: int, batch_size: int, generator=None):
    """``batch_size`` random windows of the ids ``data``: x, y int64 ``(B, T)``, y[t] = x[t+1]."""
    if isinstance(data, str):
        raise TypeError("random_text_batches: data must be token ids; encode the text first "
                        "with CharVocab.encode")
    data = host_array(data)
    if data.ndim != 1:
        raise ValueError(f"random_text_batches: data must be a 1-D sequence of ids, got shape "
                         f"{data.shape}")
    if len(data) <= block_size:
        raise ValueError(f"random_text_batches: {len(data)} tokens are too few for windows of "
                         f"block_size + 1 = {block_size + 1}")
    starts = make_generator(generator).integers(0, len(data) - block_size, size=batch_size)   # (B,)
    windows = data[starts[:, None] + np.arange(block_size + 1)]   # (B, T + 1)
    return windows[:, :-1].astype(np.int64), windows[:, 1:].astype(np.int64)


class TextBatches:
    """An endless stream of random ``(x, y)`` windows as int64 Tensors ``(B, T)`` on ``device``.

    >>> batches = TextBatches(train_ids, block_size=64, batch_size=16, seed=0)
    >>> x, y = batches.sample()
    """

    def __init__(self, data, block_size: int, batch_size: int, seed=None, device: str = "cpu"):
        self.data = host_array(data)
        self.block_size, self.batch_size, self.device = block_size, batch_size, device
        self.generator = make_generator(seed) if seed is not None else None

    def sample(self):
        """One batch ``(x, y)``."""
        x, y = random_text_batches(self.data, self.block_size, self.batch_size, self.generator)
        return to_tensors((x, y), self.device)

    def __iter__(self):
        while True:
            yield self.sample()
