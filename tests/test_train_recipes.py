"""The ready-made runs behind ``tinygrad-edu train`` (recipes, images, text) and the pictures."""
import json

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import CharVocab
from tinygrad_edu.models import CharRNN
from tinygrad_edu.train import (DEFAULTS, SettingsError, load_checkpoint, plot_history,
                                plot_misclassified, train_model)
from tinygrad_edu.train.images import GaussianNoise
from tinygrad_edu.train.recipes import resolve_settings
from tinygrad_edu.train.text import sample_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("for i in range(10):\n    print(i * i)\n" * 60)
    return path


def test_settings_precedence_defaults_then_saved_then_given():
    settings = resolve_settings("mlp", {"lr": None, "batch_size": 32}, saved={"lr": 0.1,
                                                                          "batch_size": 8})
    assert settings["lr"] == 0.1 and settings["batch_size"] == 32
    assert settings["noise"] == DEFAULTS["mlp"]["noise"]
    assert resolve_settings("mlp", {"epochs": 3}, saved={"steps": 90})["steps"] is None


def test_text_settings_steps_or_time_limit():
    default = resolve_settings("gpt", {})
    assert default["steps"] is None and default["time_limit"] == 60
    explicit = resolve_settings("gpt", {"steps": 10})
    assert explicit["steps"] == 10 and explicit["time_limit"] is None
    with pytest.raises(SettingsError, match="--steps"):
        resolve_settings("rnn", {"epochs": 2})
    with pytest.raises(SettingsError, match="--batch-size"):
        resolve_settings("mlp", {"batch_size": 0})
    with pytest.raises(SettingsError, match="unknown model"):
        resolve_settings("resnet", {})


def test_plot_history_and_misclassified_write_pngs(tmp_path, rng):
    history = [{"step": 1, "train_loss": 2.0, "train_accuracy": 0.2},
               {"step": 2, "train_loss": 1.0, "train_accuracy": 0.6, "val_loss": 1.2,
                "val_accuracy": 0.5}]
    assert plot_history(history, tmp_path / "curves.png").read_bytes()[:8] == PNG_MAGIC
    text_history = [{"step": 1, "train_loss": 4.0}, {"step": 2, "val_loss": 3.0}]
    assert plot_history(text_history, tmp_path / "text.png").read_bytes()[:8] == PNG_MAGIC
    images, labels = rng.random((6, 1, 8, 8)), np.array([0, 1, 2, 3, 4, 5])
    for predictions in (labels[::-1], labels):   # all wrong, then none wrong
        path = plot_misclassified(images, labels, predictions, tmp_path / "grid.png")
        assert path.read_bytes()[:8] == PNG_MAGIC


def test_gaussian_noise_follows_the_library_generator():
    images = np.zeros((2000, 1, 4, 4), dtype=np.float32)
    tg.manual_seed(3)
    noisy = GaussianNoise(0.3)(images)
    assert noisy.dtype == np.float32 and noisy.shape == images.shape
    assert abs(noisy.std() - 0.3) < 0.01 and abs(noisy.mean()) < 0.01
    tg.manual_seed(3)
    np.testing.assert_array_equal(GaussianNoise(0.3)(images), noisy)


def test_sample_text_continues_the_prompt():
    model = CharRNN(96, 8, 16)
    vocab = CharVocab.ascii()
    generator = np.random.default_rng(0)
    text = sample_text(model, vocab, "import ", 25, generator=generator)
    assert text.startswith("import ") and len(text) == 32 and set(text) <= set(vocab.chars)
    assert len(sample_text(model, vocab, "", 10, generator=generator)) == 10


def test_image_run_end_to_end(tmp_path):
    result, lines = train_model("cnn", {"steps": 4, "batch_size": 32}, out_dir=tmp_path,
                                progress=False)
    assert result.step == 4 and not result.interrupted
    for name in ("checkpoint.npz", "history.json", "curves.png", "misclassified.png"):
        assert (tmp_path / name).is_file()
    assert any(line.startswith("test accuracy") for line in lines)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz", expected_model="cnn")
    assert checkpoint["settings"]["steps"] == 4
    resumed, _ = train_model("cnn", {"steps": 6}, resume=tmp_path / "checkpoint.npz",
                             progress=False)
    assert resumed.step == 6
    assert json.loads((tmp_path / "history.json").read_text())[-1]["step"] == 6


def test_text_run_end_to_end_with_a_time_limit(tmp_path, text_file):
    """Without --steps the run is timed on a throwaway model for a first plan, re-planned as it
    goes, and its schedule ends with the last step."""
    result, lines = train_model("rnn", {"data": str(text_file), "time_limit": 3.0,
                                        "batch_size": 4, "sample_length": 15,
                                        "eval_batches": 2},
                                out_dir=tmp_path, progress=False)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.npz", expected_model="rnn")
    assert result.step >= 1 and result.stopped_by_time_limit
    assert checkpoint["scheduler"]["total_steps"] == result.step
    assert CharVocab.from_array(checkpoint["vocab"]) == CharVocab.ascii()
    assert (tmp_path / "sample.txt").read_text().startswith("def ")
    assert any(line.startswith("validation loss") for line in lines)


def test_ctrl_c_in_a_recipe_says_how_to_continue(tmp_path, monkeypatch):
    import tinygrad_edu.train.loop as loop

    real_clip = loop.clip_grad_norm_

    def interrupting_clip(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "clip_grad_norm_", interrupting_clip)
    text = tmp_path / "t.txt"
    text.write_text("abc def\n" * 200)
    result, lines = train_model("rnn", {"data": str(text), "steps": 5, "batch_size": 2,
                                        "sample_length": 0, "eval_batches": 1},
                                out_dir=tmp_path, progress=False)
    assert result.interrupted and result.step == 0
    assert any("--resume" in line for line in lines)
    monkeypatch.setattr(loop, "clip_grad_norm_", real_clip)
    resumed, _ = train_model("rnn", {}, resume=tmp_path / "checkpoint.npz", progress=False)
    assert resumed.step == 5 and not resumed.interrupted
