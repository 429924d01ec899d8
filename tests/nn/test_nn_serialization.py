"""tg.save / tg.load: round trips of state_dicts and nested checkpoints, the on-disk layout,
atomic writes, clear errors for damaged files, and no pickle anywhere."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def small_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_state_dict_round_trip_restores_the_model(tmp_path, rng):
    tg.manual_seed(0)
    model = small_model()
    x = tg.Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    model(x)                        # updates the BatchNorm running statistics
    model.eval()
    path = tmp_path / "model.npz"
    tg.save(model.state_dict(), path)
    loaded = tg.load(path)
    assert list(loaded) == list(model.state_dict())
    for name, value in model.state_dict().items():
        assert isinstance(loaded[name], tg.Tensor)
        assert loaded[name].dtype == value.dtype and loaded[name].shape == value.shape
        np.testing.assert_array_equal(loaded[name].numpy(), value.numpy())
    tg.manual_seed(1)
    fresh = small_model().eval()
    fresh.load_state_dict(loaded)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


CHECKPOINT = {
    "model": {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "fc.bias": np.zeros(2)},
    "optimizer": {
        "state": {0: {"exp_avg": np.ones((2, 3)), "step": 7}, 1: {}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                          "schedule": None}],
    },
    "epoch": 3,
    "loss": 0.125,
    "name": "run-1 ü",
    "history": [],
}


def assert_same(loaded, original, path="root"):
    assert type(loaded) is type(original), path
    if isinstance(original, dict):
        assert list(loaded) == list(original), path
        for key in original:
            assert_same(loaded[key], original[key], f"{path}/{key}")
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original), path
        for i, (a, b) in enumerate(zip(loaded, original)):
            assert_same(a, b, f"{path}/{i}")
    elif isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype, path
        np.testing.assert_array_equal(loaded, original)
    else:
        assert loaded == original, path


def test_nested_checkpoint_round_trip_keeps_types(tmp_path):
    path = tmp_path / "checkpoint.npz"
    tg.save(CHECKPOINT, path)
    assert_same(tg.load(path), CHECKPOINT)


def test_compress_deflates_every_entry_and_loads_the_same(tmp_path):
    """``compress=True`` writes np.savez_compressed's format: the same entries, each deflated,
    and the same object back; small int8 arrays shrink, their padded headers most of all."""
    import zipfile
    stored, deflated = tmp_path / "stored.npz", tmp_path / "deflated.npz"
    checkpoint = dict(CHECKPOINT, weights=np.tile(np.arange(-3, 4, dtype=np.int8), 50))
    tg.save(checkpoint, stored)
    tg.save(checkpoint, deflated, compress=True)
    with zipfile.ZipFile(stored) as a, zipfile.ZipFile(deflated) as b:
        assert {i.compress_type for i in a.infolist()} == {zipfile.ZIP_STORED}
        assert {i.compress_type for i in b.infolist()} == {zipfile.ZIP_DEFLATED}
        assert a.namelist() == b.namelist()
    assert deflated.stat().st_size < 0.8 * stored.stat().st_size
    assert_same(tg.load(deflated), checkpoint)


def test_the_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    path = tmp_path / "checkpoint.npz"
    tg.save(CHECKPOINT, path)
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == {"model/fc.weight", "model/fc.bias", "optimizer/state/0/exp_avg",
                                      "optimizer/state/0/step", "optimizer/param_groups/0/lr",
                                      "optimizer/param_groups/0/betas/0",
                                      "optimizer/param_groups/0/betas/1",
                                      "optimizer/param_groups/0/params/0",
                                      "optimizer/param_groups/0/params/1",
                                      "optimizer/param_groups/0/nesterov", "epoch", "loss", "name",
                                      "__tinygrad_edu__"}
        assert archive["epoch"].shape == () and archive["epoch"] == 3
        assert str(archive["name"]) == "run-1 ü"
        np.testing.assert_array_equal(archive["model/fc.weight"], CHECKPOINT["model"]["fc.weight"])


def test_the_path_is_used_exactly(tmp_path):
    path = tmp_path / "weights.ckpt"
    tg.save({"a": np.ones(2)}, str(path))
    assert os.listdir(tmp_path) == ["weights.ckpt"]
    np.testing.assert_array_equal(tg.load(path)["a"], np.ones(2))


def test_a_plain_npz_loads_as_a_flat_dict_of_arrays(tmp_path, rng):
    model = nn.Linear(3, 2)
    weights = {"weight": rng.standard_normal((2, 3)), "bias": rng.standard_normal(2)}
    path = tmp_path / "from_numpy.npz"
    np.savez(path, **weights)
    loaded = tg.load(path)
    assert set(loaded) == {"weight", "bias"} and isinstance(loaded["weight"], np.ndarray)
    model.load_state_dict(loaded)
    np.testing.assert_allclose(model.weight.numpy(), weights["weight"].astype(np.float32))


def test_tensors_come_back_on_the_requested_device(tmp_path, device, rng):
    original = tg.Tensor(rng.standard_normal((2, 2)), device=device)
    path = tmp_path / "t.npz"
    tg.save({"t": original}, path)         # a GPU tensor is copied to the host for saving
    on_cpu, on_device = tg.load(path)["t"], tg.load(path, device=device)["t"]
    assert on_cpu.device == "cpu" and on_device.device == device
    np.testing.assert_array_equal(on_device.numpy(), original.numpy())


# ----------------------------------------------------------------------------- atomic saves

def test_a_failure_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tg.save({"w": np.arange(4.0)}, path)
    written = []
    original_write = np.lib.format.write_array

    def write_then_fail(file, array, **kwargs):
        original_write(file, array, **kwargs)
        written.append(array)
        if len(written) == 2:
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"w": np.zeros(1000), "v": np.zeros(1000), "u": np.zeros(3)}, path)
    monkeypatch.undo()
    assert len(written) == 2                        # the save really got half way
    assert os.listdir(tmp_path) == ["model.npz"]    # no temporary file is left behind
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(4.0))


def test_a_failed_rename_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def refuse(source, target):
        raise PermissionError("read-only (simulated)")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        tg.save({"w": np.ones(3)}, path)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- damaged files

def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    tg.save({"w": np.ones((50, 50))}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(tg.CheckpointError, match=r"tg.load: .*model.npz.* is not a readable .npz"):
        tg.load(path)


def test_corrupted_bytes_are_a_clear_error(tmp_path):
    path = tmp_path / "model.npz"
    tg.save({"w": np.ones((50, 50))}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF        # one flipped byte inside the array data: a CRC mismatch
    path.write_bytes(bytes(data))
    with pytest.raises(tg.CheckpointError, match="model.npz"):
        tg.load(path)


@pytest.mark.parametrize("content", [b"hello, this is not a checkpoint", b""])
def test_other_files_are_a_clear_error(tmp_path, content):
    path = tmp_path / "notes.npz"
    path.write_bytes(content)
    with pytest.raises(tg.CheckpointError, match="notes.npz"):
        tg.load(path)


def test_a_single_npy_array_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.ones(3))
    with pytest.raises(tg.CheckpointError, match="single .npy array"):
        tg.load(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no checkpoint file at 'no/such/file.npz'"):
        tg.load("no/such/file.npz")


def test_pickled_content_is_refused_on_load(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}], dtype=object))   # NumPy pickles object arrays
    with pytest.raises(tg.CheckpointError, match="evil.npz"):
        tg.load(path)


# ----------------------------------------------------------------------------- what cannot be saved

def test_values_that_would_need_pickle_are_refused(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"cannot store a set at 'a/b'"):
        tg.save({"a": {"b": {1, 2}}}, path)
    with pytest.raises(TypeError, match=r"'obj'.*dtype object"):
        tg.save({"obj": np.array([None, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="would need pickling"):
        tg.save({"huge": 2 ** 80}, path)
    assert not path.exists()


def test_bad_keys_and_top_level_are_refused(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(ValueError, match=r"key 'a/b' .* must not contain '/'"):
        tg.save({"a/b": 1}, path)
    with pytest.raises(TypeError, match=r"keys must be str or int, got \(1, 2\)"):
        tg.save({(1, 2): 1}, path)
    with pytest.raises(ValueError, match="same name '1'"):
        tg.save({1: 1, "1": 2}, path)
    with pytest.raises(TypeError, match="expected a dict"):
        tg.save([np.ones(2)], path)
    assert not path.exists()


# ----------------------------------------------------------------------------- permissions, leftovers

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_saved_file_honours_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        tg.save({"w": np.ones(2)}, tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "model.npz").st_mode) == mode


KILLED_SAVE = """
import sys, time
import numpy as np
import tinygrad_edu as tg
from tinygrad_edu import serialization

def write_slowly(file, entries, compress):
    file.write(b"x" * 100_000)
    file.flush()
    print("writing", flush=True)
    time.sleep(120)

serialization._write_npz = write_slowly
tg.save({"w": np.ones(3)}, sys.argv[1])
"""


def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    tg.save({"w": np.arange(3.0)}, path)
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(repo),
                                                                     os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "writing\n"
        left = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        assert len(left) == 1 and left[0].startswith(".model.npz.")   # the save is in progress
        assert tg.serialization.remove_stale_temporaries(path) == []  # ... so it is left alone
        process.kill()                                                # SIGKILL: no clean-up
        process.wait(timeout=30)
    finally:
        process.kill()
    assert (tmp_path / left[0]).stat().st_size == 100_000
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))   # the old file is intact
    tg.save({"w": np.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_saving_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cannot write .*model.npz.* the directory "
                                                r".*missing.* does not exist"):
        tg.save({"w": np.ones(2)}, tmp_path / "missing" / "model.npz")


@pytest.mark.parametrize("content", [b"\x00\x01garbage" * 30, b"a text file\n", b""])
def test_loading_a_non_archive_never_suggests_unpickling(tmp_path, content):
    path = tmp_path / "file.npz"
    path.write_bytes(content)
    with pytest.raises(tg.CheckpointError, match="not an .npz checkpoint") as caught:
        tg.load(path)
    assert "allow_pickle" not in str(caught.value)


def test_an_object_entry_is_refused_without_suggesting_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(tg.CheckpointError, match="never unpickles") as caught:
        tg.load(path)
    assert "allow_pickle" not in str(caught.value)
