"""Text corpora, the character vocabulary, (x, y) windows, and the synthetic sequence tasks."""
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import (ADDITION_SYMBOLS, ASCII_CHARS, CharVocab, TextBatches,
                               addition_task, copy_task, decode_addition, load_text,
                               random_text_batches, reverse_task, sort_task, split_train_val,
                               to_ascii)
from tinygrad_edu.data import text as text_module


@pytest.fixture(scope="module")
def stdlib_text():
    return load_text()


# --- the corpus ------------------------------------------------------------------------------
def test_default_corpus_is_python_source_and_deterministic(stdlib_text):
    assert 1_000_000 < len(stdlib_text) <= text_module.DEFAULT_MAX_CHARS
    assert "def " in stdlib_text and "import " in stdlib_text
    assert set(stdlib_text) <= set(ASCII_CHARS)
    assert load_text() == stdlib_text


def test_default_corpus_order_and_cap():
    files = text_module.stdlib_sources()
    root = Path(sysconfig.get_paths()["stdlib"])
    relative = [f.relative_to(root).as_posix() for f in files]
    assert len(files) > 100 and relative == sorted(relative)
    assert not any(part in ("test", "tests", "site-packages")
                   for name in relative for part in name.split("/")[:-1])
    first = to_ascii(files[0].read_text(encoding="utf-8", errors="replace"))
    head = load_text(max_chars=len(first))
    assert head == first
    assert len(load_text(max_chars=10)) == 10


def test_load_text_from_a_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("héllo\tworld\r\nbye\n", encoding="utf-8")
    assert load_text(path) == "h?llo    world\nbye\n"
    assert load_text(path, ascii=False) == "héllo\tworld\nbye\n"
    assert load_text(path, max_chars=5) == "h?llo"
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path / "missing.txt")


def test_to_ascii_rule():
    assert to_ascii("a\tb\r\nc\rd\x0ce\u00e9f\U0001F600\n~") == "a    b\nc\nd?e?f?\n~"


# --- the vocabulary ----------------------------------------------------------------------------
def test_ascii_vocab_is_the_documented_96_symbols():
    vocab = CharVocab.ascii()
    assert len(vocab) == 96
    assert vocab.chars[0] == "\n" and vocab.chars[1] == " " and vocab.chars[95] == "~"
    assert [ord(c) for c in vocab.chars[1:]] == list(range(0x20, 0x7F))


def test_encode_decode_round_trip(stdlib_text):
    vocab = CharVocab.ascii()
    sample = stdlib_text[:20_000]
    ids = vocab.encode(sample)
    assert ids.dtype == np.int64 and ids.shape == (len(sample),)
    np.testing.assert_array_equal(ids, [vocab.stoi[c] for c in sample])
    np.testing.assert_array_equal(ids, [ASCII_CHARS.index(c) for c in sample])
    assert vocab.decode(ids) == sample
    assert vocab.decode(tg.Tensor(ids[:50])) == sample[:50]
    assert vocab.decode([]) == "" and len(vocab.encode("")) == 0


def test_unknown_characters():
    vocab = CharVocab.ascii()
    with pytest.raises(ValueError, match=r"'é' \(U\+00E9\) at position 1 .*errors='replace'"):
        vocab.encode("hé")
    np.testing.assert_array_equal(vocab.encode("hé", errors="replace"), vocab.encode("h?"))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 96\)"):
        vocab.decode([96])


def test_vocab_from_text_and_array_round_trip():
    vocab = CharVocab.from_text("banana bread\n")
    assert vocab.chars == ("\n", " ", "a", "b", "d", "e", "n", "r")
    stored = vocab.to_array()
    assert stored.dtype == np.int32
    again = CharVocab.from_array(stored)
    assert again == vocab and again.decode(vocab.encode("bread")) == "bread"
    unicode = CharVocab("zé😀")
    assert CharVocab.from_array(unicode.to_array()).decode([2, 1, 0]) == "😀éz"
    with pytest.raises(ValueError, match="repeated"):
        CharVocab("abca")


# --- windows ---------------------------------------------------------------------------------
def test_split_train_val_holds_out_every_tenth_run():
    data = np.arange(1000)                                      # each value tells its position
    train, val = split_train_val(data)
    assert len(val) == 100 and len(train) == 900
    runs_of_val = sorted(set(val // 10))                        # 100 runs of 10 positions
    assert runs_of_val == list(range(9, 100, 10))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), data)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)   # each part in text order
    # runs "ab" "cd" "ef" "gh" "ij"; 2 of 5 held out, evenly spread: the 2nd and the 5th
    assert split_train_val("abcdefghij", 0.4, pieces=5) == ("abefgh", "cdij")


def test_split_train_val_uneven_lengths_and_no_validation():
    train, val = split_train_val(np.arange(1005))
    assert len(train) + len(val) == 1005 and 95 <= len(val) <= 105
    train, val = split_train_val("abc", 0.0)
    assert train == "abc" and val == ""
    with pytest.raises(ValueError, match="val_fraction"):
        split_train_val("abc", 1.0)


def test_random_batches_shift_by_one():
    data = np.arange(1000) * 3                                  # each value tells its position
    x, y = random_text_batches(data, block_size=16, batch_size=32, generator=0)
    assert x.shape == y.shape == (32, 16) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    np.testing.assert_array_equal(np.diff(x, axis=1), 3)       # contiguous windows of the data
    np.testing.assert_array_equal(y - x, 3)                     # y[t] is the token after x[t]
    assert x.min() >= 0 and y.max() <= data[-1]
    x2, _ = random_text_batches(data, block_size=16, batch_size=32, generator=0)
    np.testing.assert_array_equal(x, x2)


def test_random_batches_reach_both_ends():
    data = np.arange(10)
    x, y = random_text_batches(data, block_size=4, batch_size=500, generator=1)
    assert x[:, 0].min() == 0 and y[:, -1].max() == 9
    with pytest.raises(ValueError, match=r"10 tokens are too few .* block_size \+ 1 = 11"):
        random_text_batches(data, block_size=10, batch_size=1)
    with pytest.raises(TypeError, match="encode the text first"):
        random_text_batches("some text", block_size=2, batch_size=1)


def test_text_batches_stream(device):
    data = CharVocab.ascii().encode("hello world, hello tensors\n" * 10)
    batches = TextBatches(data, block_size=8, batch_size=4, seed=0, device=device)
    x, y = batches.sample()
    assert x.shape == y.shape == (4, 8) and x.dtype == np.int64 and x.device == device
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    again = next(iter(TextBatches(data, block_size=8, batch_size=4, seed=0, device=device)))
    np.testing.assert_array_equal(again[0].numpy(), x.numpy())


# --- synthetic tasks -------------------------------------------------------------------------
@pytest.mark.parametrize("task, rule", [(copy_task, lambda s: s), (reverse_task, lambda s: s[::-1]),
                                        (sort_task, sorted)])
def test_symbol_tasks(task, rule):
    inputs, targets = task(50, length=7, num_symbols=5, seed=0)
    assert inputs.shape == targets.shape == (50, 7)
    assert inputs.dtype == targets.dtype == np.int64
    assert inputs.min() >= 0 and inputs.max() == 4
    for source, target in zip(inputs.tolist(), targets.tolist()):
        assert target == list(rule(source))
    again, _ = task(50, length=7, num_symbols=5, seed=0)
    np.testing.assert_array_equal(again, inputs)
    with pytest.raises(ValueError, match="length=0"):
        task(3, length=0)


@pytest.mark.parametrize("digits", [1, 2, 4])
@pytest.mark.parametrize("reverse_answer", [False, True])
def test_addition_task(digits, reverse_answer):
    inputs, targets = addition_task(200, digits=digits, reverse_answer=reverse_answer, seed=3)
    assert inputs.shape == (200, 2 * digits + 2) and targets.shape == (200, digits + 1)
    assert inputs.dtype == targets.dtype == np.int64
    for source, target in zip(inputs, targets):
        text, answer = decode_addition(source), decode_addition(target)
        a, b = text[:-1].split("+")
        assert len(a) == len(b) == digits and text.endswith("=")
        answer = answer[::-1] if reverse_answer else answer
        assert int(answer) == int(a) + int(b) and len(answer) == digits + 1
    assert ADDITION_SYMBOLS.index("+") == 10 and ADDITION_SYMBOLS.index("=") == 11


def test_addition_example_from_the_docs():
    assert decode_addition([1, 2, 10, 3, 4, 11]) == "12+34="
    inputs, targets = addition_task(1000, digits=2, seed=0)
    texts = [decode_addition(row) for row in inputs]
    assert len(set(texts)) > 900                               # the pairs are drawn, not fixed
