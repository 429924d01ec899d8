"""The tinygrad-edu command, run as a user would: ``python -m tinygrad_edu ...`` in a subprocess.

Every subcommand runs end to end at a tiny size, and every mistake a person can make ends with a
message that names the problem and a non-zero exit status, never a traceback."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.train import load_checkpoint
from tinygrad_edu.train.checkpoint import build_model

REPO = Path(__file__).resolve().parent.parent
PYTHON_CODE = '''def greet(name):
    """Say hello."""
    return "Hello, " + name + "!"


class Counter:
    def __init__(self, start=0):
        self.value = start

    def increment(self, step=1):
        self.value += step
        return self.value
'''


def tinygrad_edu(*args, cwd, timeout=300):
    """Run the command; returns the CompletedProcess (stdout and stderr as text)."""
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=python_path, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_clean_error(result, *fragments):
    """Exit status 2, a one-line message containing ``fragments``, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "code.py"
    path.write_text(PYTHON_CODE * 40)
    return path


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """One tiny MLP run shared by the tests that need a checkpoint of an image model."""
    out = tmp_path_factory.mktemp("mlp")
    result = tinygrad_edu("train", "mlp", "--steps", 3, "--out", out, "--no-progress", cwd=out)
    return out, result


@pytest.fixture(scope="module")
def rnn_run(tmp_path_factory, text_file):
    out = tmp_path_factory.mktemp("rnn")
    result = tinygrad_edu("train", "rnn", "--data", text_file, "--steps", 2, "--batch-size", 4,
                          "--sample-length", 12, "--out", out, cwd=out)
    return out, result


def test_help_lists_the_subcommands(tmp_path):
    result = tinygrad_edu("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("train", "sample", "gradcheck"):
        assert command in result.stdout
    result = tinygrad_edu("train", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--resume" in result.stdout and "--time-limit" in result.stdout


def test_train_mlp_writes_checkpoint_history_and_plots(mlp_run):
    out, result = mlp_run
    assert result.returncode == 0, result.stderr
    for name in ("checkpoint.npz", "history.json", "curves.png", "misclassified.png"):
        assert (out / name).is_file() and str(out / name) in result.stdout, name
    assert "test accuracy" in result.stdout
    assert load_checkpoint(out / "checkpoint.npz")["progress"]["step"] == 3


def test_train_cnn_runs(tmp_path):
    result = tinygrad_edu("train", "cnn", "--steps", 2, "--batch-size", 16, "--out", tmp_path,
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz", expected_model="cnn")
    assert checkpoint["model_config"]["image_size"] == 8


def test_train_cnn_width_widens_every_layer_and_the_checkpoint_rebuilds_it(tmp_path):
    result = tinygrad_edu("train", "cnn", "--width", 2, "--steps", 1, "--batch-size", 8,
                          "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = build_model(load_checkpoint(tmp_path / "checkpoint.npz", expected_model="cnn"))
    assert model.conv1.weight.shape[0] == 12 and model.fc2.weight.shape == (168, 240)
    assert_clean_error(tinygrad_edu("train", "mlp", "--width", 2, cwd=tmp_path), "--width")
    assert_clean_error(tinygrad_edu("train", "cnn", "--width", 0, cwd=tmp_path), "--width")


def test_resume_continues_the_saved_run(mlp_run, tmp_path):
    out, _ = mlp_run
    copy = tmp_path / "checkpoint.npz"
    copy.write_bytes((out / "checkpoint.npz").read_bytes())
    result = tinygrad_edu("train", "mlp", "--resume", copy, "--steps", 5, "--no-progress",
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(copy)
    assert checkpoint["progress"]["step"] == 5
    assert checkpoint["settings"]["batch_size"] == 64   # the saved settings were kept


def test_train_rnn_on_a_text_file_prints_samples(rnn_run):
    out, result = rnn_run
    assert result.returncode == 0, result.stderr
    assert "--- sample" in result.stdout and "validation loss" in result.stdout
    assert (out / "sample.txt").read_text().startswith("def ")
    checkpoint = load_checkpoint(out / "checkpoint.npz", expected_model="rnn")
    assert len(checkpoint["vocab"]) == 96


def test_train_gpt_runs(tmp_path, text_file):
    result = tinygrad_edu("train", "gpt", "--data", text_file, "--steps", 1, "--batch-size", 2,
                          "--sample-length", 0, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(tmp_path / "checkpoint.npz")["model_config"]["n_layer"] == 4


def test_sample_continues_the_prompt(rnn_run):
    out, _ = rnn_run
    args = ("sample", out / "checkpoint.npz", "--prompt", "class ", "--length", 40,
            "--seed", 3, "--top-k", 5)
    first, second = tinygrad_edu(*args, cwd=out), tinygrad_edu(*args, cwd=out)
    assert first.returncode == 0, first.stderr
    text = first.stdout[:-1]   # print adds one newline
    assert text.startswith("class ") and len(text) == len("class ") + 40
    assert first.stdout == second.stdout   # a seed repeats the sample


def test_gradcheck_filter_prints_a_table(tmp_path):
    result = tinygrad_edu("gradcheck", "--filter", "ops.tanh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ops.tanh" in result.stdout and "pass" in result.stdout
    assert "1 of 1 passed" in result.stdout


def test_gradcheck_with_a_filter_matching_nothing(tmp_path):
    assert_clean_error(tinygrad_edu("gradcheck", "--filter", "no-such-op", cwd=tmp_path),
                       "no-such-op")


def test_unknown_model_and_device_are_usage_errors(tmp_path):
    result = tinygrad_edu("train", "resnet", cwd=tmp_path)
    assert_clean_error(result, "invalid choice", "resnet")
    result = tinygrad_edu("train", "mlp", "--device", "tpu", cwd=tmp_path)
    assert_clean_error(result, "invalid choice", "tpu")


@pytest.mark.skipif(tg.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu(tmp_path):
    assert_clean_error(tinygrad_edu("train", "mlp", "--device", "cuda", cwd=tmp_path),
                       "--device cuda", "GPU")


def test_missing_data_directory_is_named(tmp_path):
    missing = tmp_path / "no" / "mnist"
    result = tinygrad_edu("train", "mlp", "--data", "mnist", "--data-dir", missing, cwd=tmp_path)
    assert_clean_error(result, str(missing))


def test_missing_text_file_is_named(tmp_path):
    result = tinygrad_edu("train", "gpt", "--data", tmp_path / "missing.txt", cwd=tmp_path)
    assert_clean_error(result, "missing.txt")


def test_checkpoint_of_another_model(mlp_run, tmp_path):
    out, _ = mlp_run
    result = tinygrad_edu("train", "gpt", "--resume", out / "checkpoint.npz", cwd=tmp_path)
    assert_clean_error(result, "'mlp' model, not of 'gpt'")
    result = tinygrad_edu("sample", out / "checkpoint.npz", cwd=tmp_path)
    assert_clean_error(result, "image classifier", "rnn or gpt")


def test_corrupt_or_missing_checkpoint(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    assert_clean_error(tinygrad_edu("sample", corrupt, cwd=tmp_path), "corrupt.npz")
    assert_clean_error(tinygrad_edu("train", "mlp", "--resume", corrupt, cwd=tmp_path),
                       "corrupt.npz")
    assert_clean_error(tinygrad_edu("sample", tmp_path / "nothing.npz", cwd=tmp_path),
                       "nothing.npz")


def test_bad_settings_are_usage_errors(tmp_path):
    assert_clean_error(tinygrad_edu("train", "rnn", "--epochs", 2, cwd=tmp_path), "--steps")
    assert_clean_error(tinygrad_edu("train", "mlp", "--lr", -1, cwd=tmp_path), "--lr")
    assert_clean_error(tinygrad_edu("train", "mlp", "--threads", 0, cwd=tmp_path), "--threads")


def test_ctrl_c_saves_a_checkpoint_and_exits_without_a_traceback(tmp_path):
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_edu", "train", "mlp", "--epochs", "1000", "--verbose", "--out",
         str(tmp_path), "--no-progress"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=python_path))
    try:
        first_line = process.stdout.readline()   # printed after the first epoch's evaluation
        assert first_line.startswith("step "), first_line + process.stderr.read()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "interrupted at step" in stdout
    assert "--resume" in stdout
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz")
    assert checkpoint["progress"]["step"] >= 20   # at least the first epoch (20 steps) was done
    assert all(np.isfinite(record["train_loss"]) for record in checkpoint["history"]
               if "train_loss" in record)
    assert any("val_accuracy" in record for record in checkpoint["history"])
