"""The gradient-check registry behind ``tinygrad-edu gradcheck`` (tinygrad_edu/checks/)."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor
from tinygrad_edu.checks import CHECKS, Check, jacobian_errors, run_check, run_checks


pytestmark = pytest.mark.usefixtures("one_thread")


class SquareWithPlantedError(Function):
    """z = a²; its backward is off by a relative 0.1% (2.002·a instead of 2·a)."""

    def forward(self, a):
        return a * a

    def backward(self, grad):
        (a,) = self.inputs
        return grad * a * 2.002


def test_every_registered_check_passes():
    failed = {name: result for name in CHECKS
              if not (result := run_check(name))["passed"]}
    assert not failed, failed


def test_registry_covers_ops_layers_losses_and_models():
    kinds = {name.split(".")[0] for name in CHECKS}
    assert kinds == {"ops", "nn", "loss", "layer", "model"}
    for model in ("MLP", "CNN", "CharRNN", "GPT"):
        assert f"model.{model}" in CHECKS
    assert len(CHECKS) >= 60


@pytest.mark.parametrize("fast", [False, True])
def test_errors_match_a_planted_mistake(fast):
    x = Tensor(np.random.default_rng(0).uniform(1.0, 2.0, (3, 2)), requires_grad=True)
    errors = jacobian_errors(lambda a: SquareWithPlantedError.apply(a), [x], fast=fast)
    assert not errors["passed"]
    if not fast:   # the largest error is 0.002·a at the largest a, relative 0.002 / 2.002
        assert errors["max_abs"] == pytest.approx(0.002 * x.numpy().max(), rel=1e-4)
        assert errors["max_rel"] == pytest.approx(0.002 / 2.002, rel=1e-4)
    correct = jacobian_errors(lambda a: a * a, [x], fast=fast)
    assert correct["passed"] and correct["max_abs"] < 1e-8


def test_jacobian_errors_agree_with_gradcheck():
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda a: SquareWithPlantedError.apply(a), [x])
    assert tg.gradcheck(lambda a: a.tanh(), [x]) and jacobian_errors(lambda a: a.tanh(), [x])["passed"]


def test_table_reports_failures_and_exceptions(monkeypatch):
    def planted(rng):
        return (lambda a: SquareWithPlantedError.apply(a), [Tensor(rng.uniform(1, 2, 3),
                                                                   requires_grad=True)])

    def broken(rng):
        raise RuntimeError("cannot build this check")

    monkeypatch.setitem(CHECKS, "test.planted", Check(planted))
    monkeypatch.setitem(CHECKS, "test.broken", Check(broken))
    lines = []
    assert not run_checks(["ops.add", "test.planted", "test.broken"], out=lines.append)
    table = "\n".join(lines)
    assert "ops.add" in table and "pass" in table
    assert "test.planted" in table and "FAIL" in table
    assert "cannot build this check" in table
    assert "1 of 3 passed" in lines[-1]
    assert run_checks(["ops.add"], out=lines.append)
