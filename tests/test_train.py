"""The training loop (tinygrad_edu.train.loop): it trains, evaluates, checkpoints, survives
Ctrl-C, and resumes exactly where it stopped."""
import json
import os
import signal

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, optim
from tinygrad_edu.data import DataLoader, TensorDataset, make_generator, make_moons
from tinygrad_edu.models import MLP, CharRNN
from tinygrad_edu.nn import functional as F
from tinygrad_edu.train import (CheckpointMismatchError, FitSettings, build_model, evaluate, fit,
                                load_checkpoint)
from tinygrad_edu.train.bookkeeping import interrupts_deferred
from tinygrad_edu.train.loop import logits_and_targets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MLP_META = {"model_name": "mlp", "model_config": {"sizes": [2, 16, 2], "activation": "tanh"}}


pytestmark = pytest.mark.usefixtures("one_thread")


class Jitter:
    """A batched augmentation drawing from the library's generator, as transforms do by default:
    resuming exactly needs that generator's state back."""
    batched = True

    def __call__(self, points):
        return points + 0.05 * make_generator(None).standard_normal(points.shape)


def moons_setup(device="cpu", seed=0):
    """A small MLP on make_moons with augmentation, Adam and a cosine schedule."""
    tg.manual_seed(seed)
    points, labels = make_moons(96, noise=0.1, seed=1)
    train = DataLoader(TensorDataset(points, labels, transform=Jitter()), batch_size=16,
                       shuffle=True, seed=seed, device=device)
    test = DataLoader(TensorDataset(points, labels), batch_size=32, device=device)
    model = MLP(**MLP_META["model_config"]).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=40)
    return model, optimizer, scheduler, train, test


def run_moons(steps, tmp_path=None, resume=None, on_step=None, loss_fn=F.cross_entropy,
              device="cpu"):
    model, optimizer, scheduler, train, test = moons_setup(device)
    losses = []

    def record(step, loss):
        losses.append(loss)
        if on_step is not None:
            on_step(step, loss)

    settings = FitSettings(steps=steps, eval_every=10, log_every=3, max_grad_norm=5.0,
                           loss_fn=loss_fn, checkpoint_meta=MLP_META, progress=False,
                           checkpoint_path=None if tmp_path is None else tmp_path / "ckpt.npz")
    result = fit(model, optimizer, train, settings, scheduler=scheduler, eval_data=test,
                 resume=resume, on_step=record)
    return result, losses, model


def test_training_lowers_the_loss_and_writes_checkpoint_and_history(tmp_path, device):
    result, losses, model = run_moons(40, tmp_path, device=device)
    assert result.step == 40 and not result.interrupted
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert result.last_eval["val_accuracy"] > 0.8
    checkpoint = load_checkpoint(tmp_path / "ckpt.npz", expected_model="mlp")
    assert checkpoint["progress"]["step"] == 40
    assert json.loads((tmp_path / "history.json").read_text()) == checkpoint["history"]
    assert checkpoint["history"] == result.history
    steps_logged = [record["step"] for record in result.history]
    assert steps_logged == sorted(steps_logged) and 40 in steps_logged
    rebuilt = build_model(checkpoint)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    np.testing.assert_array_equal(rebuilt(x).numpy(), model.to("cpu")(x).numpy())


def test_evaluate_matches_numpy(rng):
    model = MLP([3, 5, 4])
    inputs = rng.standard_normal((10, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=10)
    metrics = evaluate(model, DataLoader(TensorDataset(inputs, labels), batch_size=4))
    logits = model(Tensor(inputs)).numpy().astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert metrics["loss"] == pytest.approx(-log_probs[np.arange(10), labels].mean(), rel=1e-5)
    assert metrics["accuracy"] == pytest.approx((logits.argmax(axis=1) == labels).mean())
    assert model.training   # evaluate restores the mode


def test_sequence_logits_are_flattened_for_the_loss():
    logits, targets = Tensor(np.zeros((2, 3, 5))), Tensor(np.zeros((2, 3), dtype=np.int64))
    flat_logits, flat_targets = logits_and_targets((logits, "state"), targets)
    assert flat_logits.shape == (6, 5) and flat_targets.shape == (6,)


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    """Stop after 13 steps (mid-epoch: 6 steps per epoch), resume in fresh objects: steps 14..30
    give the same losses as a run that never stopped."""
    _, uninterrupted, _ = run_moons(30)
    first, _, _ = run_moons(13, tmp_path)
    assert first.step == 13
    checkpoint = load_checkpoint(tmp_path / "ckpt.npz")
    resumed, later_losses, _ = run_moons(30, tmp_path, resume=checkpoint)
    assert resumed.step == 30
    np.testing.assert_allclose(later_losses, uninterrupted[13:], rtol=1e-6)
    reference = run_moons(30)[0].history
    assert resumed.history[:len(first.history)] == first.history   # the history carries on
    later = [(r["step"], r.get("val_loss")) for r in resumed.history if r["step"] > 13]
    assert later == [(r["step"], r.get("val_loss")) for r in reference if r["step"] > 13]


def stop_at(step_to_stop):
    def on_step(step, loss):
        if step == step_to_stop:
            raise KeyboardInterrupt
    return on_step


def test_ctrl_c_after_a_step_saves_a_usable_checkpoint(tmp_path):
    _, uninterrupted, _ = run_moons(20)
    result, _, _ = run_moons(20, tmp_path, on_step=stop_at(7))
    assert result.interrupted and result.step == 7
    checkpoint = load_checkpoint(tmp_path / "ckpt.npz")
    assert checkpoint["progress"]["step"] == 7
    _, later_losses, _ = run_moons(20, tmp_path, resume=checkpoint)
    np.testing.assert_allclose(later_losses, uninterrupted[7:], rtol=1e-6)


def test_ctrl_c_inside_the_forward_pass_keeps_the_last_complete_step(tmp_path):
    """Interrupted while computing step 6's loss: the checkpoint holds the state after step 5,
    and the resumed run redoes step 6 with the same batch."""
    _, uninterrupted, _ = run_moons(12)
    calls = []

    def loss_that_gets_interrupted(logits, targets):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return F.cross_entropy(logits, targets)

    result, _, _ = run_moons(12, tmp_path, loss_fn=loss_that_gets_interrupted)
    assert result.interrupted and result.step == 5
    _, later_losses, _ = run_moons(12, tmp_path, resume=load_checkpoint(tmp_path / "ckpt.npz"))
    np.testing.assert_allclose(later_losses, uninterrupted[5:], rtol=1e-6)


def test_interrupts_are_deferred_until_the_update_is_complete():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("update done")
    assert finished == ["update done"]


def char_rnn_run(steps, tmp_path, resume=None, total_steps=10):
    """A CharRNN with dropout (random masks from the library's generator), gradient clipping
    and a warm-up schedule, on random windows of a short text: the text path of the loop."""
    tg.manual_seed(0)
    ids = np.random.default_rng(0).integers(0, 7, size=400)
    model = CharRNN(7, 4, 8, dropout=0.3)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=3,
                                                          total_steps=total_steps)

    def batch_at(step):
        starts = np.random.default_rng([0, step]).integers(0, 390, size=4)
        windows = ids[starts[:, None] + np.arange(9)]
        return Tensor(windows[:, :-1]), Tensor(windows[:, 1:])

    losses = []
    meta = {"model_name": "rnn", "model_config": {"vocab_size": 7, "embed_dim": 4,
                                                  "hidden_size": 8, "dropout": 0.3}}
    settings = FitSettings(steps=steps, max_grad_norm=0.5, eval_every=4, accuracy=False,
                           progress=False, checkpoint_path=tmp_path / "rnn.npz",
                           checkpoint_meta=meta)
    fit(model, optimizer, batch_at, settings, scheduler=scheduler, eval_data=[batch_at(10_000)],
        resume=resume, on_step=lambda step, loss: losses.append(loss))
    return losses


def test_text_batches_dropout_and_clipping_resume_exactly(tmp_path):
    uninterrupted = char_rnn_run(10, tmp_path)
    char_rnn_run(6, tmp_path / "part")
    resumed = char_rnn_run(10, tmp_path / "part", resume=load_checkpoint(tmp_path / "part" / "rnn.npz"))
    np.testing.assert_allclose(resumed, uninterrupted[6:], rtol=1e-6)


def test_checkpoint_of_another_model_or_a_bare_state_dict_is_a_clear_error(tmp_path):
    run_moons(3, tmp_path)
    with pytest.raises(CheckpointMismatchError, match="'mlp' model, not of 'gpt'"):
        load_checkpoint(tmp_path / "ckpt.npz", expected_model="gpt")
    tg.save(MLP([2, 3]).state_dict(), tmp_path / "weights.npz")
    with pytest.raises(CheckpointMismatchError, match="not a tinygrad-edu training checkpoint"):
        load_checkpoint(tmp_path / "weights.npz")


def test_resuming_with_another_batch_size_is_refused(tmp_path):
    run_moons(3, tmp_path)
    model, optimizer, _, _, test = moons_setup()
    points, labels = make_moons(96, noise=0.1, seed=1)
    other = DataLoader(TensorDataset(points, labels), batch_size=32, shuffle=True, seed=0)
    with pytest.raises(CheckpointMismatchError, match="steps per epoch"):
        fit(model, optimizer, other, FitSettings(steps=5, progress=False),
            resume=load_checkpoint(tmp_path / "ckpt.npz"))


def test_time_limit_stops_and_saves(tmp_path):
    model, optimizer, scheduler, train, test = moons_setup()
    settings = FitSettings(steps=10_000, time_limit=0.5, checkpoint_path=tmp_path / "ckpt.npz",
                           checkpoint_meta=MLP_META, progress=False)
    result = fit(model, optimizer, train, settings, eval_data=test)
    assert result.stopped_by_time_limit and 0 < result.step < 10_000
    assert result.history[-1]["step"] == result.step and "val_loss" in result.history[-1]
    assert load_checkpoint(tmp_path / "ckpt.npz")["progress"]["step"] == result.step


def test_fit_needs_a_length():
    model, optimizer, _, _, _ = moons_setup()
    with pytest.raises(ValueError, match="steps"):
        fit(model, optimizer, lambda step: None, FitSettings(progress=False))
