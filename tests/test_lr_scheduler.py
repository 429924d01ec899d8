"""Learning-rate schedules: the rate at chosen steps against the formulas (and torch's schedulers,
where installed), PyTorch's calling convention, resuming from a state_dict, and the errors."""
import io
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.optim import lr_scheduler

BASE_LRS = (0.1, 0.03)


def make_optimizer(base_lrs=BASE_LRS):
    groups = [{"params": [nn.Parameter(tg.zeros(2))], "lr": lr} for lr in base_lrs]
    return optim.SGD(groups, lr=1.0, momentum=0.9)


def rates(scheduler, steps):
    """The rate of every group at t = 0 (right after construction) .. steps - 1."""
    history = [scheduler.get_last_lr()]
    for _ in range(steps - 1):
        scheduler.optimizer.step()
        scheduler.step()
        history.append(scheduler.get_last_lr())
    return np.array(history)                                  # (steps, groups)


def formula_rates(formula, steps, base_lrs=BASE_LRS):
    return np.array([[formula(base, t) for base in base_lrs] for t in range(steps)])


def cosine(base, t, t_max, eta_min):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


SCHEDULES = {   # name: (make scheduler, formula(base_lr, t), number of steps to follow)
    "StepLR": (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
               lambda base, t: base * 0.5 ** (t // 3), 12),
    "CosineAnnealingLR": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                          lambda base, t: cosine(base, t, 10, 0.001), 25),
    "LambdaLR": (lambda o: lr_scheduler.LambdaLR(o, lambda t: 0.9 ** t + 0.1),
                 lambda base, t: base * (0.9 ** t + 0.1), 10),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_rates_follow_the_formula(name):
    make, formula, steps = SCHEDULES[name]
    np.testing.assert_allclose(rates(make(make_optimizer()), steps),
                               formula_rates(formula, steps), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_rates_match_torch(name):
    torch = pytest.importorskip("torch")
    make, _, steps = SCHEDULES[name]
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in BASE_LRS]
    theirs = torch.optim.SGD(groups, lr=1.0, momentum=0.9)
    their_scheduler = {
        "StepLR": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        "CosineAnnealingLR": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
            o, T_max=10, eta_min=0.001),
        "LambdaLR": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 0.9 ** t + 0.1),
    }[name](theirs)
    expected = [their_scheduler.get_last_lr()]
    for _ in range(steps - 1):
        theirs.step()
        their_scheduler.step()
        expected.append(their_scheduler.get_last_lr())
    np.testing.assert_allclose(rates(make(make_optimizer()), steps), np.array(expected),
                               rtol=1e-9, atol=1e-15)


def test_lambda_lr_with_one_function_per_group():
    scheduler = lr_scheduler.LambdaLR(make_optimizer(), [lambda t: 1 / (t + 1), lambda t: t + 1])
    np.testing.assert_allclose(rates(scheduler, 5),
                               [[0.1 / (t + 1), 0.03 * (t + 1)] for t in range(5)], rtol=1e-12)


def test_warmup_cosine_at_chosen_steps():
    warmup, total, min_lr = 4, 14, 0.001
    history = rates(lr_scheduler.WarmupCosineLR(make_optimizer(), warmup, total, min_lr), 20)
    for group, base in enumerate(BASE_LRS):
        lrs = history[:, group]
        assert lrs[0] == 0.0                                        # warm-up starts from zero
        assert lrs[2] == pytest.approx(base * 2 / 4, rel=1e-12)     # linear on the way up
        assert lrs[warmup] == pytest.approx(base, rel=1e-12)        # the peak is the base rate
        assert lrs[warmup + 5] == pytest.approx((base + min_lr) / 2, rel=1e-12)   # cosine midway
        assert lrs[total] == min_lr and lrs[-1] == min_lr           # then stays at min_lr
        assert np.all(np.diff(lrs[:warmup + 1]) > 0)
        assert np.all(np.diff(lrs[warmup:total + 1]) < 0)


def test_warmup_cosine_follows_the_formula():
    warmup, total, min_lr = 3, 11, 0.002

    def formula(base, t):
        if t < warmup:
            return base * t / warmup
        if t >= total:
            return min_lr
        progress = (t - warmup) / (total - warmup)
        return min_lr + (base - min_lr) * (1 + math.cos(math.pi * progress)) / 2

    scheduler = lr_scheduler.WarmupCosineLR(make_optimizer(), warmup, total, min_lr)
    np.testing.assert_allclose(rates(scheduler, 15), formula_rates(formula, 15), rtol=1e-12)


def test_warmup_cosine_without_warmup_is_cosine_annealing():
    ours = rates(lr_scheduler.WarmupCosineLR(make_optimizer(), 0, 10, min_lr=0.01), 11)
    cosine_only = rates(lr_scheduler.CosineAnnealingLR(make_optimizer(), 10, eta_min=0.01), 11)
    np.testing.assert_allclose(ours, cosine_only, rtol=1e-12)


def test_construction_sets_the_first_rate_and_step_changes_the_next_update():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(BASE_LRS)
    assert scheduler.get_last_lr() == list(BASE_LRS) and scheduler.last_epoch == 0
    plain = optim.SGD([nn.Parameter(tg.zeros(1))], lr=0.8)
    scheduler = lr_scheduler.StepLR(plain, step_size=1, gamma=0.5)
    p = plain.param_groups[0]["params"][0]
    moves = []
    for _ in range(3):
        p.grad = tg.ones(1)
        before = p.item()
        plain.step()
        scheduler.step()
        moves.append(before - p.item())
    np.testing.assert_allclose(moves, [0.8, 0.4, 0.2], rtol=1e-6)   # lr at t = 0, 1, 2


def test_resume_from_state_dict_through_npz():
    def make(optimizer):
        return lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=3, total_steps=12, min_lr=1e-4)

    uninterrupted = rates(make(make_optimizer()), 10)
    optimizer = make_optimizer()
    first = make(optimizer)
    rates(first, 5)                                  # t = 0..4
    saved = {"optimizer": optimizer.state_dict(), "scheduler": first.state_dict()}
    buffer = io.BytesIO()
    np.savez(buffer, **{f"scheduler.{k}": np.asarray(v) for k, v in saved["scheduler"].items()})
    buffer.seek(0)
    loaded = np.load(buffer)
    scheduler_state = {k.split(".", 1)[1]: loaded[k] for k in loaded.files}

    resumed_optimizer = make_optimizer()
    resumed_optimizer.load_state_dict(saved["optimizer"])
    resumed = lr_scheduler.WarmupCosineLR(resumed_optimizer, warmup_steps=1, total_steps=2)
    resumed.load_state_dict(scheduler_state)
    assert (resumed.warmup_steps, resumed.total_steps, resumed.min_lr) == (3, 12, 1e-4)
    assert resumed.get_last_lr() == uninterrupted[4].tolist()
    assert [g["lr"] for g in resumed_optimizer.param_groups] == uninterrupted[4].tolist()
    np.testing.assert_array_equal(rates(resumed, 6)[1:], uninterrupted[5:])


def test_load_state_dict_rejects_another_number_of_groups():
    saved = lr_scheduler.StepLR(make_optimizer(), step_size=2).state_dict()
    with pytest.raises(ValueError, match="rates for 2 parameter groups, the optimizer has 1"):
        lr_scheduler.StepLR(make_optimizer(base_lrs=(0.1,)), step_size=2).load_state_dict(saved)


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.StepLR(make_optimizer(), step_size=2, last_epoch=4)
    optimizer = make_optimizer()
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1, last_epoch=4)
    assert scheduler.last_epoch == 5
    np.testing.assert_allclose(scheduler.get_last_lr(), [base * 0.01 for base in BASE_LRS])


def test_resume_through_tg_save_and_load(tmp_path):
    uninterrupted = rates(lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=8), 8)
    first = lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=8)
    rates(first, 3)
    tg.save({"scheduler": first.state_dict(), "optimizer": first.optimizer.state_dict()},
            tmp_path / "checkpoint.npz")
    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    resumed = lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=8)
    resumed.optimizer.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    np.testing.assert_array_equal(rates(resumed, 6), uninterrupted[2:])


@pytest.mark.parametrize("make, error, message", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a "
                                                                "positive integer, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError,
     "CosineAnnealingLR: T_max must be positive, got 0"),
    (lambda o: lr_scheduler.WarmupCosineLR(o, 10, 10), ValueError,
     "need 0 <= warmup_steps < total_steps, got warmup_steps=10, total_steps=10"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda t: 1.0]), ValueError,
     "expected 2 lr_lambdas .one per parameter group., got 1"),
    (lambda o: lr_scheduler.LambdaLR(o, 0.5), TypeError, "lr_lambda must be a function"),
    (lambda o: lr_scheduler.StepLR("not an optimizer", 3), TypeError,
     "StepLR: expected an Optimizer, got str"),
])
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer())


def test_importable_under_both_names():
    assert tg.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
