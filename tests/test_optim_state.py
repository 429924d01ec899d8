"""Optimizer bookkeeping: saving and resuming exactly (also through a .npz file), and the errors
for bad settings and bad parameter lists."""
import io

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.autograd import ShapeError

_rng = np.random.default_rng(7)
TARGETS = [_rng.normal(size=(3, 4)), _rng.normal(size=4), _rng.normal(size=())]


def through_npz(tree: dict) -> dict:
    """What the plainest save to .npz and load give back: every key a string, every list a dict
    keyed "0", "1", ..., every leaf a NumPy array (so a step count comes back as a 0-d array)."""
    flat = {}

    def flatten(node, prefix):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, list, tuple)):
                flatten(value, f"{prefix}{key}/")
            else:
                flat[f"{prefix}{key}"] = tg.backend.asnumpy(np.asarray(value)
                                                            if not tg.backend.is_array(value)
                                                            else value)
    flatten(tree, "")
    buffer = io.BytesIO()
    np.savez(buffer, **flat)
    buffer.seek(0)
    loaded = np.load(buffer)
    tree = {}
    for name in loaded.files:
        *parents, leaf = name.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = loaded[name]
    return tree


def is_storable(node) -> bool:
    """Only dicts, lists, tuples, arrays and Python numbers: what tg.save can write."""
    if isinstance(node, dict):
        return all(is_storable(value) for value in node.values())
    if isinstance(node, (list, tuple)):
        return all(is_storable(value) for value in node)
    return tg.backend.is_array(node) or isinstance(node, (bool, int, float))


def make_parameters(values, device="cpu"):
    return [nn.Parameter(tg.Tensor(v.copy(), device=device)) for v in values]


def train(optimizer, params, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(((p - tg.Tensor(t, device=p.device)) ** 2 * (1.0 + i)).sum()
                   for i, (p, t) in enumerate(zip(params, TARGETS)))
        loss.backward()
        optimizer.step()


def start_values():
    return [np.zeros((3, 4)), np.ones(4), np.array(0.5)]


def two_groups(name, settings, params):
    return getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}],
                                **settings)


RESUME_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.8, 0.95))),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("name, settings", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
@pytest.mark.parametrize("via_npz", [False, True], ids=["in-memory", "npz"])
def test_resume_is_bit_for_bit(name, settings, via_npz, device):
    reference_params = make_parameters(start_values(), device)
    uninterrupted = two_groups(name, settings, reference_params)
    train(uninterrupted, reference_params, 7)

    params = make_parameters(start_values(), device)
    first = two_groups(name, settings, params)
    train(first, params, 3)
    checkpoint = {"optimizer": first.state_dict(), "params": [p.numpy().copy() for p in params]}
    optimizer_state = through_npz(checkpoint["optimizer"]) if via_npz else checkpoint["optimizer"]
    resumed_params = make_parameters(checkpoint["params"], device)
    resumed = two_groups(name, {**settings, "lr": 123.0}, resumed_params)   # lr comes from the file
    resumed.load_state_dict(optimizer_state)
    assert resumed.param_groups[0]["lr"] == settings["lr"]
    train(resumed, resumed_params, 4)

    for expected, got in zip(reference_params, resumed_params):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("name, settings", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_state_dict_is_storable_and_keyed_by_index(name, settings):
    params = make_parameters(start_values())
    optimizer = two_groups(name, settings, params)
    train(optimizer, params, 2)
    state_dict = optimizer.state_dict()
    assert is_storable(state_dict)
    assert sorted(state_dict["state"]) == [0, 1, 2]
    assert [g["params"] for g in state_dict["param_groups"]] == [[0, 1], [2]]
    assert state_dict["param_groups"][1]["lr"] == 0.01
    for number, p in enumerate(params):
        for key, value in state_dict["state"][number].items():
            assert isinstance(value, int) if key == "step" else value.shape == p.shape


@pytest.mark.parametrize("name, settings", RESUME_CASES, ids=[c[0] for c in RESUME_CASES])
def test_resume_through_tg_save_and_load(name, settings, tmp_path):
    reference_params = make_parameters(start_values())
    train(two_groups(name, settings, reference_params), reference_params, 5)
    params = make_parameters(start_values())
    optimizer = two_groups(name, settings, params)
    train(optimizer, params, 2)
    tg.save({"params": [p.numpy() for p in params], "optimizer": optimizer.state_dict()},
            tmp_path / "checkpoint.npz")
    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    resumed_params = make_parameters(checkpoint["params"])
    resumed = two_groups(name, settings, resumed_params)
    resumed.load_state_dict(checkpoint["optimizer"])
    train(resumed, resumed_params, 3)
    for expected, got in zip(reference_params, resumed_params):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_step_count_loaded_as_array_is_an_int_again():
    params = make_parameters(start_values())
    optimizer = optim.Adam(params)
    train(optimizer, params, 2)
    optimizer.load_state_dict(through_npz(optimizer.state_dict()))
    assert all(type(optimizer.state[p]["step"]) is int for p in params)
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    assert type(optimizer.param_groups[0]["amsgrad"]) is bool


def test_state_dict_is_a_snapshot():
    params = make_parameters(start_values())
    optimizer = optim.Adam(params, lr=0.1)
    train(optimizer, params, 1)
    saved = optimizer.state_dict()
    exp_avg = saved["state"][0]["exp_avg"].copy()
    train(optimizer, params, 1)
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], exp_avg)
    assert saved["state"][0]["step"] == 1


def test_loaded_state_is_not_shared_with_the_checkpoint():
    params = make_parameters(start_values())
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9)
    train(optimizer, params, 1)
    saved = optimizer.state_dict()
    buffer = saved["state"][0]["momentum_buffer"].copy()
    optimizer.load_state_dict(saved)
    train(optimizer, params, 1)
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buffer)


def test_load_state_dict_rejects_a_different_optimizer_layout():
    params = make_parameters(start_values())
    optimizer = optim.Adam(params)
    train(optimizer, params, 1)
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        two_groups("Adam", {}, make_parameters(start_values())).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 has 2 parameters, the checkpoint's has 3"):
        optim.Adam(make_parameters(start_values())[:2]).load_state_dict(saved)
    wrong_shapes = make_parameters([np.zeros((4, 3)), np.ones(4), np.array(0.5)])
    with pytest.raises(ShapeError, match=r"'exp_avg' has shape \(3, 4\), its parameter has "
                                         r"shape \(4, 3\)"):
        optim.Adam(wrong_shapes).load_state_dict(saved)


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), r"SGD: invalid learning rate lr=-0.1"),
    (lambda p: optim.SGD(p, momentum=-0.5), r"SGD: invalid momentum=-0.5"),
    (lambda p: optim.SGD(p, weight_decay=-1), r"SGD: invalid weight_decay=-1"),
    (lambda p: optim.SGD(p, nesterov=True), r"SGD: nesterov momentum needs momentum > 0 and "
                                            r"dampening = 0, got momentum=0, dampening=0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
     r"got momentum=0.9, dampening=0.1"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1),
     r"SGD: invalid learning rate lr=-1.0"),
    (lambda p: optim.Adam(p, lr=-1e-3), r"Adam: invalid learning rate lr=-0.001"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"Adam: invalid betas\[0\]=1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"Adam: invalid betas\[1\]=-0.1"),
    (lambda p: optim.Adam(p, eps=-1e-8), r"Adam: invalid eps=-1e-08"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), r"AdamW: invalid weight_decay=-0.1"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), r"RMSprop: invalid alpha=-0.5"),
    (lambda p: optim.RMSprop(p, momentum=-0.1), r"RMSprop: invalid momentum=-0.1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), r"Adagrad: invalid lr_decay=-1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
     r"Adagrad: invalid initial_accumulator_value=-1"),
])
def test_invalid_settings_name_the_optimizer_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_parameters(start_values()))


def test_invalid_parameter_lists():
    p, q = make_parameters(start_values())[:2]
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(TypeError, match=r"single Tensor of shape \(3, 4\); wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but parameter 1 of group 0 "
                                        "is a ndarray"):
        optim.SGD([p, np.ones(3)], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="appear more than once"):
        optim.SGD([{"params": [p, q]}, {"params": [q]}], lr=0.1)
    with pytest.raises(ValueError, match="appear more than once"):
        optim.SGD([p, p], lr=0.1)


def test_add_param_group_and_generator_of_parameters():
    model = nn.Linear(3, 2)
    head = nn.Parameter(tg.zeros(2))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)   # a generator, used once
    optimizer.add_param_group({"params": head, "lr": 1.0})
    assert len(optimizer.param_groups[0]["params"]) == 2
    assert len(optimizer.param_groups[1]["params"]) == 1
    assert optimizer.param_groups[1]["params"][0] is head
    assert optimizer.param_groups[1]["momentum"] == 0.9
    head.grad = tg.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(head.numpy(), [-1.0, -1.0])


def test_training_continues_after_moving_model_and_optimizer(device):
    """Two Adam steps, then model.to(device) and optimizer.to(device), then two more steps:
    the parameters equal four steps taken without moving (the state moved along with them)."""
    def run(move_to):
        tg.manual_seed(0)
        model = tg.nn.Linear(3, 2)
        optimizer = tg.optim.Adam(model.parameters(), lr=0.1)
        x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
        for step in range(4):
            if step == 2 and move_to:
                model.to(move_to)
                optimizer.to(move_to)
            optimizer.zero_grad()
            inputs = tg.Tensor(x, device=model.weight.device)
            (model(inputs) ** 2).sum().backward()
            optimizer.step()
        return model.weight.numpy(), optimizer.state[model.weight]["exp_avg"]

    moved_weight, moved_state = run(device)
    still_weight, _ = run(None)
    assert tg.backend.device_of(moved_state) == device
    np.testing.assert_allclose(moved_weight, still_weight, rtol=1e-6)
