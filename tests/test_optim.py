"""Optimizer trajectories: each update rule, followed for several steps on a fixed quadratic, must
match its equations written out again here in plain NumPy (and torch.optim, where installed).

The objective has three parameters of different shapes (a vector, a matrix, a scalar),
    f(p, W, s) = ½ pᵀ A p - bᵀ p + Σ (½ c ⊙ W² - d ⊙ W) + ½ e s² - h s,
so the reference loops can use the exact gradients  ∇p = A p - b,  ∇W = c ⊙ W - d,
∇s = e s - h,  while the optimizers under test get theirs from autograd.
"""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim

STEPS = 8
_rng = np.random.default_rng(42)
_M = _rng.normal(size=(5, 5))
A = _M @ _M.T / 5 + np.eye(5)                  # symmetric positive definite
B = _rng.normal(size=5)
C = _rng.uniform(0.5, 2.0, size=(2, 3))
D = _rng.normal(size=(2, 3))
P0 = _rng.normal(size=5)
W0 = _rng.normal(size=(2, 3))
E, H, S0 = 1.5, -0.7, np.array(0.3)


def exact_gradients(p, w, s):
    return [A @ p - B, C * w - D, E * s - H]


# --- the update rules, written out once more in NumPy (float64) -------------------------------

def reference_sgd(p, g, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    g = -g if maximize else g
    g = g + weight_decay * p
    if momentum != 0:
        state["b"] = g if "b" not in state else momentum * state["b"] + (1 - dampening) * g
        g = g + momentum * state["b"] if nesterov else state["b"]
    return p - lr * g


def reference_adam(p, g, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    t = state["t"] = state.get("t", 0) + 1
    g = -g if maximize else g
    if decoupled:
        p = p - lr * weight_decay * p
    else:
        g = g + weight_decay * p
    m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g ** 2
    if amsgrad:
        v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def reference_adamw(p, g, state, lr, weight_decay=1e-2, **settings):
    return reference_adam(p, g, state, lr, weight_decay=weight_decay, decoupled=True, **settings)


def reference_rmsprop(p, g, state, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    g = -g if maximize else g
    g = g + weight_decay * p
    v = state["v"] = alpha * state.get("v", 0.0) + (1 - alpha) * g ** 2
    if centered:
        mean = state["mean"] = alpha * state.get("mean", 0.0) + (1 - alpha) * g
        d = np.sqrt(v - mean ** 2) + eps
    else:
        d = np.sqrt(v) + eps
    if momentum > 0:
        state["b"] = momentum * state.get("b", 0.0) + g / d
        return p - lr * state["b"]
    return p - lr * g / d


def reference_adagrad(p, g, state, lr, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    t = state["t"] = state.get("t", 0) + 1
    g = -g if maximize else g
    g = g + weight_decay * p
    s = state["s"] = state.get("s", initial_accumulator_value) + g ** 2
    return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)


# (optimizer name, settings): every option of every optimizer appears at least once
CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.3, amsgrad=True)),
    ("Adam", dict(lr=0.1, maximize=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in settings.items())}"
            for name, settings in CASES]
REFERENCES = {"SGD": reference_sgd, "Adam": reference_adam, "AdamW": reference_adamw,
              "RMSprop": reference_rmsprop, "Adagrad": reference_adagrad}


def reference_trajectory(name, settings, steps=STEPS):
    params, states, trajectory = [P0.copy(), W0.copy(), S0.copy()], [{}, {}, {}], []
    for _ in range(steps):
        grads = exact_gradients(*params)
        params = [REFERENCES[name](p, g, s, **settings) for p, g, s in zip(params, grads, states)]
        trajectory.append(params)
    return trajectory


def objective(p, w, s, device):
    a, b, c, d = (tg.Tensor(x, dtype=p.dtype, device=device) for x in (A, B, C, D))
    return (0.5 * (p @ (a @ p)) - (b * p).sum() + (0.5 * c * w * w - d * w).sum()
            + 0.5 * E * s * s - H * s)


def tg_trajectory(name, settings, dtype=np.float64, device="cpu", steps=STEPS):
    p = nn.Parameter(tg.Tensor(P0.astype(dtype), device=device))
    w = nn.Parameter(tg.Tensor(W0.astype(dtype), device=device))
    s = nn.Parameter(tg.Tensor(S0.astype(dtype), device=device))
    optimizer = getattr(optim, name)([p, w, s], **settings)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(p, w, s, device).backward()
        optimizer.step()
        trajectory.append([p.numpy().copy(), w.numpy().copy(), s.numpy().copy()])
    return trajectory


def assert_same_trajectory(actual, expected, rtol, atol):
    for step, (got, want) in enumerate(zip(actual, expected)):
        for name, g, e in zip(("p", "W", "s"), got, want):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol,
                                       err_msg=f"{name} after step {step + 1}")


@pytest.mark.parametrize("name, settings", CASES, ids=CASE_IDS)
def test_trajectory_matches_equations_float64(name, settings):
    assert_same_trajectory(tg_trajectory(name, settings), reference_trajectory(name, settings),
                           rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, settings", CASES, ids=CASE_IDS)
def test_trajectory_float32_on_device(name, settings, device):
    actual = tg_trajectory(name, settings, dtype=np.float32, device=device)
    assert all(x.dtype == np.float32 for step in actual for x in step)
    assert_same_trajectory(actual, reference_trajectory(name, settings), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, settings", [case for case in CASES if len(case[1]) > 1],
                         ids=[i for i, case in zip(CASE_IDS, CASES) if len(case[1]) > 1])
def test_each_option_changes_the_trajectory(name, settings):
    """Guards the tests above: an option that made no difference on this problem would be
    untested by them."""
    plain = reference_trajectory(name, {"lr": settings["lr"]})
    assert not np.allclose(reference_trajectory(name, settings)[-1][0], plain[-1][0], rtol=1e-6)


@pytest.mark.parametrize("name, settings", CASES, ids=CASE_IDS)
def test_trajectory_matches_torch(name, settings):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(x, requires_grad=True) for x in (P0, W0, S0)]
    p, w, s = params
    a, b, c, d = (torch.tensor(x) for x in (A, B, C, D))
    optimizer = getattr(torch.optim, name)(params, **settings)
    expected = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        (0.5 * (p @ (a @ p)) - (b * p).sum() + (0.5 * c * w * w - d * w).sum()
         + 0.5 * E * s * s - H * s).backward()
        optimizer.step()
        expected.append([x.detach().numpy().copy() for x in params])
    assert_same_trajectory(tg_trajectory(name, settings), expected, rtol=1e-10, atol=1e-12)


def test_parameter_groups_use_their_own_settings():
    p = nn.Parameter(tg.Tensor(P0.copy()))
    w = nn.Parameter(tg.Tensor(W0.copy()))
    s = nn.Parameter(tg.Tensor(S0.copy()))
    optimizer = optim.SGD([{"params": [p, s]}, {"params": [w], "lr": 0.2, "nesterov": True}],
                          lr=0.05, momentum=0.9)
    assert optimizer.param_groups[0]["lr"] == 0.05 and optimizer.param_groups[1]["lr"] == 0.2
    assert optimizer.param_groups[1]["momentum"] == 0.9        # filled in from the defaults
    state_p, state_w, state_s = {}, {}, {}
    expected_p, expected_w, expected_s = P0.copy(), W0.copy(), S0.copy()
    for _ in range(5):
        optimizer.zero_grad()
        objective(p, w, s, "cpu").backward()
        optimizer.step()
        grad_p, grad_w, grad_s = exact_gradients(expected_p, expected_w, expected_s)
        expected_p = reference_sgd(expected_p, grad_p, state_p, lr=0.05, momentum=0.9)
        expected_s = reference_sgd(expected_s, grad_s, state_s, lr=0.05, momentum=0.9)
        expected_w = reference_sgd(expected_w, grad_w, state_w, lr=0.2, momentum=0.9,
                                   nesterov=True)
    np.testing.assert_allclose(p.numpy(), expected_p, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), expected_w, rtol=1e-12)
    np.testing.assert_allclose(s.numpy(), expected_s, rtol=1e-12)


def test_parameter_groups_match_torch():
    torch = pytest.importorskip("torch")
    p, w = torch.tensor(P0, requires_grad=True), torch.tensor(W0, requires_grad=True)
    ours_p, ours_w = nn.Parameter(tg.Tensor(P0.copy())), nn.Parameter(tg.Tensor(W0.copy()))
    ours_s = nn.Parameter(tg.Tensor(S0.copy()))
    theirs = torch.optim.Adam([{"params": [p]}, {"params": [w], "lr": 0.01, "amsgrad": True}],
                              lr=0.1, weight_decay=0.1)
    ours = optim.Adam([{"params": [ours_p]}, {"params": [ours_w], "lr": 0.01, "amsgrad": True}],
                      lr=0.1, weight_decay=0.1)
    a, b, c, d = (torch.tensor(x) for x in (A, B, C, D))
    for _ in range(5):
        theirs.zero_grad()
        (0.5 * (p @ (a @ p)) - (b * p).sum() + (0.5 * c * w * w - d * w).sum()).backward()
        theirs.step()
        ours.zero_grad()
        objective(ours_p, ours_w, ours_s, "cpu").backward()
        ours.step()
    np.testing.assert_allclose(ours_p.numpy(), p.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours_w.numpy(), w.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_parameters_without_gradient_are_skipped(name):
    used = nn.Parameter(tg.Tensor(P0.copy()))
    unused = nn.Parameter(tg.Tensor(W0.copy()))
    optimizer = getattr(optim, name)([used, unused], lr=0.1)
    (used * used).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(unused.numpy(), W0)
    assert unused not in optimizer.state or not optimizer.state[unused]
    assert not np.array_equal(used.numpy(), P0)


@pytest.mark.parametrize("name, settings", [
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.1, momentum=0.9, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True)),
])
def test_step_never_modifies_the_gradient(name, settings):
    p = nn.Parameter(tg.Tensor(P0.copy()))
    optimizer = getattr(optim, name)([p], **settings)
    for _ in range(3):
        (p * p).sum().backward()
        grad_tensor, grad_values = p.grad, p.grad.numpy().copy()
        data_before = p.data
        optimizer.step()
        assert p.grad is grad_tensor
        np.testing.assert_array_equal(p.grad.numpy(), grad_values)
        assert p.data is data_before          # updated in place: no new parameter array per step
        optimizer.zero_grad()


def test_state_lives_on_the_parameters_device_and_dtype(device):
    p = nn.Parameter(tg.Tensor(P0.astype(np.float32), device=device))
    optimizer = optim.Adam([p], amsgrad=True)
    (p * p).sum().backward()
    optimizer.step()
    state = optimizer.state[p]
    assert state["step"] == 1
    for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert tg.backend.device_of(state[name]) == device
        assert state[name].dtype == np.float32 and state[name].shape == p.shape


def test_zero_grad():
    p = nn.Parameter(tg.Tensor(P0.copy()))
    optimizer = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    old_grad = p.grad
    optimizer.zero_grad(set_to_none=False)
    assert p.grad is not old_grad and p.grad.shape == p.shape
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(5))
    np.testing.assert_array_equal(old_grad.numpy(), 2 * P0)   # the old gradient is untouched
    optimizer.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss():
    p = nn.Parameter(tg.Tensor(P0.copy()))
    optimizer = optim.SGD([p], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():       # the closure records its graph even inside no_grad
        loss = optimizer.step(closure)
    assert loss.item() == pytest.approx(np.sum(P0 ** 2))
    np.testing.assert_allclose(p.numpy(), P0 - 0.1 * 2 * P0, rtol=1e-12)


@pytest.mark.parametrize("name, settings, atol", [
    ("SGD", dict(lr=0.1, momentum=0.9), 1e-3),
    ("Adam", dict(lr=0.05), 1e-2),
    ("AdamW", dict(lr=0.05), 5e-2),         # the decay keeps pulling the weights towards 0
    ("RMSprop", dict(lr=0.01), 3e-2),       # steps of about lr remain near the minimum
    ("Adagrad", dict(lr=0.3), 1e-2),
])
def test_fits_a_linear_model(name, settings, atol, device):
    """End to end with a Module: recover the weights of a noiseless linear map."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    true_weight, true_bias = np.array([[1.5, -2.0, 0.5]], np.float32), np.float32(0.3)
    y = x @ true_weight.T + true_bias                                       # (64, 1)
    tg.manual_seed(0)
    model = nn.Linear(3, 1).to(device)
    optimizer = getattr(optim, name)(model.parameters(), **settings)
    inputs, targets = tg.Tensor(x, device=device), tg.Tensor(y, device=device)
    for _ in range(300):
        optimizer.zero_grad()
        ((model(inputs) - targets) ** 2).mean().backward()
        optimizer.step()
    np.testing.assert_allclose(model.weight.numpy(), true_weight, atol=atol)
    np.testing.assert_allclose(model.bias.numpy(), [true_bias], atol=atol)
