"""``tinygrad-edu finetune``, ``distill`` and ``quantize``, run as a user would (a subprocess), at
tiny sizes, on checkpoints written here; mistakes end with one line and exit status 2."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.data import CharVocab
from tinygrad_edu.models import CNN, GPT
from tinygrad_edu.train import load_checkpoint
from tinygrad_edu.train.checkpoint import make_checkpoint, rng_state, save_checkpoint
from tinygrad_edu.train.distill import load_quantized
from tinygrad_edu.train.finetune import load_lora_checkpoint
from test_cli import PYTHON_CODE, assert_clean_error, tinygrad_edu

GPT_CONFIG = dict(vocab_size=96, block_size=16, n_layer=1, n_head=2, n_embd=16)


def write_checkpoint(path, model, name, config, **meta):
    save_checkpoint(path, make_checkpoint(model, optim.Adam(model.parameters()), None,
                                          {"step": 0}, rng_state(), [],
                                          {"model_name": name, "model_config": config, **meta}))
    return path


@pytest.fixture(scope="module")
def gpt_checkpoint(tmp_path_factory):
    tg.manual_seed(0)
    return write_checkpoint(tmp_path_factory.mktemp("gpt") / "checkpoint.npz",
                            GPT(**GPT_CONFIG), "gpt", GPT_CONFIG,
                            vocab=CharVocab.ascii().to_array())


@pytest.fixture(scope="module")
def cnn_checkpoint(tmp_path_factory):
    tg.manual_seed(0)
    config = {"in_channels": 1, "num_classes": 10, "image_size": 8}
    return write_checkpoint(tmp_path_factory.mktemp("cnn") / "checkpoint.npz", CNN(**config),
                            "cnn", config, settings={"data": "digits", "data_dir": None})


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "code.py"
    path.write_text(PYTHON_CODE * 20)
    return path


def test_full_finetune_writes_a_checkpoint_that_sample_reads(tmp_path, gpt_checkpoint, text_file):
    result = tinygrad_edu("finetune", gpt_checkpoint, "--data", text_file, "--steps", 3,
                          "--batch-size", 2, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "validation loss: step 0:" in result.stdout and "step 3:" in result.stdout
    assert "(100.00%)" in result.stdout                       # every weight trains
    tuned = load_checkpoint(tmp_path / "checkpoint.npz", expected_model="gpt")
    base = load_checkpoint(gpt_checkpoint)
    assert not np.array_equal(tuned["model"]["h.0.attn.c_attn.weight"].numpy(),
                              base["model"]["h.0.attn.c_attn.weight"].numpy())
    sampled = tinygrad_edu("sample", tmp_path / "checkpoint.npz", "--prompt", "def ",
                           "--length", 10, "--seed", 1, cwd=tmp_path)
    assert sampled.returncode == 0 and sampled.stdout.startswith("def "), sampled.stderr


def test_lora_finetune_saves_the_adapters_alone(tmp_path, gpt_checkpoint, text_file):
    result = tinygrad_edu("finetune", gpt_checkpoint, "--data", text_file, "--lora", 2,
                          "--steps", 3, "--batch-size", 2, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trainable parameters: 512 of" in result.stdout    # rank 2 x (64 + 32 + 80 + 80)
    saved = tg.load(tmp_path / "lora.npz")
    assert all(name.endswith(("lora_A", "lora_B")) for name in saved["adapters"])
    model = load_lora_checkpoint(tmp_path / "lora.npz")
    assert np.abs(model.h[0].attn.c_attn.lora_B.numpy()).max() > 0   # trained, B left zero


def test_finetune_mistakes_are_one_line(tmp_path, gpt_checkpoint, cnn_checkpoint):
    assert_clean_error(tinygrad_edu("finetune", cnn_checkpoint, "--data", "stdlib:email",
                                    cwd=tmp_path), "'cnn' model", "gpt checkpoint")
    assert_clean_error(tinygrad_edu("finetune", gpt_checkpoint, "--data", "stdlib:nosuchpkg",
                                    cwd=tmp_path), "no package 'nosuchpkg'")
    assert_clean_error(tinygrad_edu("finetune", gpt_checkpoint, "--data", tmp_path / "no.txt",
                                    cwd=tmp_path), "no such text file")


def test_distill_compares_the_student_alone_and_distilled(tmp_path, cnn_checkpoint):
    result = tinygrad_edu("distill", "--teacher", cnn_checkpoint, "--epochs", 1, "--out",
                          tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "labels alone" in result.stdout and "distilled" in result.stdout
    student = load_checkpoint(tmp_path / "student.npz", expected_model="mlp")
    parameters = sum(t.size for t in student["model"].values())
    teacher = sum(t.size for t in load_checkpoint(cnn_checkpoint)["model"].values())
    assert teacher >= 10 * parameters


def test_quantize_prints_accuracy_and_size_and_writes_int8(tmp_path, cnn_checkpoint):
    out = tmp_path / "int8.npz"
    result = tinygrad_edu("quantize", cnn_checkpoint, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test accuracy: float32" in result.stdout and "int8" in result.stdout
    assert "size: float32" in result.stdout
    model = load_quantized(out)
    assert model.fc1.weight_int8.dtype == np.int8
    assert not (tmp_path / "int8-float32.npz").exists()


def test_quantize_and_distill_refuse_a_language_model(tmp_path, gpt_checkpoint):
    assert_clean_error(tinygrad_edu("quantize", gpt_checkpoint, cwd=tmp_path),
                       "'gpt' model", "image classifier")
    assert_clean_error(tinygrad_edu("distill", "--teacher", gpt_checkpoint, cwd=tmp_path),
                       "'gpt' model", "image classifier")
