"""Smoke test of benchmarks/gpt_time_to_loss.py, so that it cannot rot: the recipe with a tiny
GPT, a short repetitive text and a dozen steps, in tinygrad_edu and PyTorch. Timings are never
asserted: only that both start from the same point, learn alike, and that the run reports what
the table needs."""
import numpy as np
import pytest

import tinygrad_edu as tg
from benchmarks import gpt_time_to_loss as ttl
from tinygrad_edu.data import CharVocab, split_train_val
from tinygrad_edu.train import text

torch = pytest.importorskip("torch")

TINY = {"vocab_size": 96, "block_size": 64, "n_layer": 1, "n_head": 2, "n_embd": 32,
        "dropout": 0.0}
SNIPPET = "def add(x, y):\n    return x + y\n\nclass Point:\n    pass\n"


@pytest.fixture
def tiny_recipe(monkeypatch, one_thread):
    """The recipe's settings and text split, with a tiny GPT and 2 validation batches."""
    monkeypatch.setitem(text.CONFIGS, "gpt", TINY)
    threads = torch.get_num_threads()
    train_ids, val_ids = split_train_val(CharVocab.ascii().encode(SNIPPET * 300))
    tg.manual_seed(0)
    state = {name: value.numpy() for name, value in tg.models.GPT(**TINY).state_dict().items()}
    yield state, train_ids, val_ids, {**ttl.recipe_settings(0), "eval_batches": 2}
    torch.set_num_threads(threads)


def test_both_frameworks_start_alike_and_learn_alike(tiny_recipe):
    state, train_ids, val_ids, settings = tiny_recipe
    results = ttl.compare(["tinygrad_edu", "torch"], state, train_ids, val_ids, settings,
                          steps=12, eval_every=4, threads=1, target=3.8)
    ours, theirs = results["tinygrad_edu"], results["torch"]
    for result in (ours, theirs):
        assert set(result) == {"first_loss", "curve", "reached", "final_loss", "seconds"}
        assert [step for step, _ in result["curve"]] == [0, 4, 8, 12]
        assert result["final_loss"] == result["curve"][-1][1]
        assert result["curve"][-1][1] < result["curve"][0][1] - 0.5   # it learns the snippet
        below = [(step, loss) for step, loss in result["curve"][1:] if loss <= 3.8]
        assert (result["reached"] or [None])[0] == (below[0][0] if below else None)
    # the same weights on the same batches: the same first loss, then the same curve (a
    # different learning rate, betas, weight decay or clipping moves it by more than 1e-4)
    assert ours["first_loss"] == pytest.approx(theirs["first_loss"], abs=1e-4)
    assert ours["curve"][0][1] == pytest.approx(theirs["curve"][0][1], abs=1e-5)
    for (_, mine), (_, other) in zip(ours["curve"], theirs["curve"]):
        assert mine == pytest.approx(other, abs=1e-4)   # float32 rounding alone: ~1e-6
    lines = ttl.agreement(results)
    assert lines[0].startswith("first-step training loss: tinygrad_edu ")
    assert "over 4 shared evaluations" in lines[1]


def test_until_target_stops_at_the_first_evaluation_that_reaches_it(tiny_recipe):
    state, train_ids, val_ids, settings = tiny_recipe
    result = ttl.compare(["torch"], state, train_ids, val_ids, settings, steps=12,
                         eval_every=4, threads=1, until_target=True, target=np.inf)["torch"]
    assert [step for step, _ in result["curve"]] == [0, 4]
    assert result["reached"][0] == 4
    assert ttl.agreement({"torch": result}) == []


def test_the_schedule_follows_the_recipes_scheduler():
    """lr_at against WarmupCosineLR with the recipe's warm-up and floor."""
    settings = ttl.recipe_settings(0)
    model = tg.nn.Linear(2, 2)
    optimizer = tg.optim.AdamW(model.parameters(), lr=settings["lr"])
    scheduler = tg.optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=100,
                                                     total_steps=2000, min_lr=settings["lr"] / 10)
    for step in range(2000):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(
            ttl.lr_at(step, 100, 2000, settings["lr"], settings["lr"] / 10), abs=1e-12)
        optimizer.step()
        scheduler.step()


def test_bad_step_counts_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        ttl.main(["--steps", "0"])
    assert stopped.value.code == 2
    assert "--steps and --eval-every must be at least 1, got 0 and 100" in capsys.readouterr().err
