"""Every mistake a new user makes with the command ends with one line and exit status 2.

Each case runs the real command in a subprocess (``python -m tinygrad_edu``) and checks the
exit status, that standard error is a single line naming the value, and that there is no
traceback."""
import numpy as np
import pytest

import tinygrad_edu as tg

from test_cli import tinygrad_edu


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    for python_name in ("download=", "root=", "allow_pickle", "tg.load", "load_mnist"):
        assert python_name not in lines[0], lines[0]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A real MLP checkpoint of two steps, as ``tg.load`` reads it (a nested dict)."""
    out = tmp_path_factory.mktemp("run")
    result = tinygrad_edu("train", "mlp", "--steps", 2, "--out", out, "--no-progress", cwd=out)
    assert result.returncode == 0, result.stderr
    return out / "checkpoint.npz"


def damaged_copy(saved_run, folder, damage):
    """The checkpoint with ``damage(checkpoint)`` applied, saved as ``folder/damaged.npz``."""
    checkpoint = tg.load(saved_run)
    damage(checkpoint)
    path = folder / "damaged.npz"
    tg.save(checkpoint, path)
    return path


def wrong_shape(checkpoint):
    checkpoint["model"]["layers.0.weight"] = np.zeros((3, 3), dtype=np.float32)


def missing_weight(checkpoint):
    del checkpoint["model"]["layers.2.bias"]


def no_optimizer(checkpoint):
    del checkpoint["optimizer"]


def bad_rng(checkpoint):
    checkpoint["rng"] = "{not json"


def text_as_weight(checkpoint):
    checkpoint["model"]["layers.4.bias"] = "ten numbers"


def no_optimizer_state(checkpoint):
    checkpoint["optimizer"]["param_groups"] = []


@pytest.mark.parametrize("damage", [wrong_shape, missing_weight, no_optimizer, bad_rng,
                                    text_as_weight, no_optimizer_state])
def test_resuming_an_inconsistent_checkpoint(saved_run, tmp_path, damage):
    path = damaged_copy(saved_run, tmp_path, damage)
    result = tinygrad_edu("train", "mlp", "--resume", path, "--steps", 4, "--no-progress",
                          cwd=tmp_path)
    assert_one_line_error(result, "damaged.npz")


def test_sampling_from_an_inconsistent_checkpoint(saved_run, tmp_path):
    def as_text_model(checkpoint):
        checkpoint["model_name"] = "rnn"
    path = damaged_copy(saved_run, tmp_path, as_text_model)
    assert_one_line_error(tinygrad_edu("sample", path, cwd=tmp_path), "damaged.npz")


@pytest.mark.parametrize("content", [bytes(range(256)) * 8, b"just some notes\n"])
def test_files_that_are_not_checkpoints(tmp_path, content):
    path = tmp_path / "notes.npz"
    path.write_bytes(content)
    assert_one_line_error(tinygrad_edu("sample", path, cwd=tmp_path), "notes.npz", "zip")


def test_a_directory_as_checkpoint(tmp_path):
    result = tinygrad_edu("train", "mlp", "--resume", tmp_path, cwd=tmp_path)
    assert_one_line_error(result, str(tmp_path), "directory")


def test_out_naming_a_file_or_a_place_that_cannot_hold_a_directory(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("notes")
    result = tinygrad_edu("train", "mlp", "--steps", 1, "--out", a_file, cwd=tmp_path)
    assert_one_line_error(result, "--out", "notes.txt", "file")
    result = tinygrad_edu("train", "mlp", "--steps", 1, "--out", a_file / "run", cwd=tmp_path)
    assert_one_line_error(result, "--out", "cannot create")
    assert a_file.read_text() == "notes"


@pytest.mark.parametrize("option, value", [("--lr", -1), ("--lr", "nan"), ("--steps", 0),
                                           ("--epochs", -3), ("--batch-size", 0),
                                           ("--time-limit", 0), ("--seed", -1),
                                           ("--threads", 0)])
def test_numbers_out_of_range(tmp_path, option, value):
    result = tinygrad_edu("train", "mlp", option, value, cwd=tmp_path)
    assert_one_line_error(result, option, str(value))


def test_mnist_directory_without_the_files(tmp_path):
    result = tinygrad_edu("train", "mlp", "--data", "mnist", "--data-dir", tmp_path, cwd=tmp_path)
    assert_one_line_error(result, "--data-dir", "train-images-idx3-ubyte")


def test_sample_settings_out_of_range(tmp_path):
    for option, value in (("--length", -1), ("--temperature", 0), ("--top-k", 0),
                          ("--seed", -2)):
        result = tinygrad_edu("sample", tmp_path / "missing.npz", option, value, cwd=tmp_path)
        assert_one_line_error(result, option, str(value))
    assert_one_line_error(tinygrad_edu("sample", tmp_path / "missing.npz", cwd=tmp_path),
                          "missing.npz")


def test_version(tmp_path):
    result = tinygrad_edu("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"tinygrad-edu {tg.__version__}"


@pytest.mark.parametrize("args, fragment", [(("train",), "model"),
                                            (("train", "resnet"), "resnet"),
                                            (("train", "mlp", "--lr", "abc"), "abc"),
                                            (("frobnicate",), "frobnicate")])
def test_usage_errors_are_one_line_too(tmp_path, args, fragment):
    result = tinygrad_edu(*args, cwd=tmp_path)
    assert_one_line_error(result, fragment, "--help")
