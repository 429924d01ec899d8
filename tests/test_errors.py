"""Clear errors: each bad input raises an exception that names the operation and the values
involved (shapes, devices, dtypes, axes)."""
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import DeviceError, ShapeError


def _shape_text(shape):
    return re.escape(str(shape))


@pytest.mark.parametrize("op,name", [(lambda a, b: a + b, "Add"), (lambda a, b: a - b, "Sub"),
                                     (lambda a, b: a * b, "Mul"), (lambda a, b: a / b, "Div"),
                                     (tg.maximum, "Maximum"), (lambda a, b: a ** b, "Pow")])
def test_broadcast_mismatch_names_the_op_and_both_shapes(op, name, device):
    a, b = tg.ones(2, 3, device=device), tg.ones(4, 5, device=device)
    with pytest.raises(ShapeError) as info:
        op(a, b)
    message = str(info.value)
    assert message.startswith(name) and "(2, 3)" in message and "(4, 5)" in message


def test_matmul_inner_dimension_mismatch(device):
    with pytest.raises(ShapeError, match=r"matmul.*\(2, 3\) @ \(4, 5\).*3 != 4"):
        tg.ones(2, 3, device=device) @ tg.ones(4, 5, device=device)
    with pytest.raises(ShapeError, match=r"matmul.*\(3,\) @ \(2,\)"):
        tg.ones(3, device=device) @ tg.ones(2, device=device)
    with pytest.raises(ShapeError, match="at least one axis"):
        tg.ones(3, device=device) @ tg.Tensor(2.0, device=device)


def test_reshape_cat_stack_pad_mismatches(device):
    x = tg.ones(2, 3, device=device)
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*6 elements.*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ShapeError, match=r"Cat.*\(2, 3\) and \(2, 4\)"):
        tg.cat([x, tg.ones(2, 4, device=device)], axis=0)
    with pytest.raises(ShapeError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        tg.stack([x, tg.ones(3, 2, device=device)])
    with pytest.raises(ShapeError, match="cat: zero-dimensional"):
        tg.cat([tg.Tensor(1.0), tg.Tensor(2.0)])
    with pytest.raises(ShapeError, match=r"pad.*\(2, 3\)"):
        x.pad(((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="pad.*>= 0"):
        x.pad(((0, 0), (-1, 0)))
    with pytest.raises(ShapeError, match=r"Expand.*\(2, 3\)"):
        x.expand(4, 3)
    with pytest.raises(ShapeError, match=r"expand: -1 in \(-1, 2, 3\).*\(2, 3\)"):
        x.expand(-1, 2, 3)


@pytest.mark.parametrize("call", [lambda x: x.sum(axis=3), lambda x: x.max(dim=-4),
                                  lambda x: x.softmax(dim=5), lambda x: x.argmax(3),
                                  lambda x: x.transpose(0, 3), lambda x: x.permute(0, 1, 5),
                                  lambda x: x.unsqueeze(5), lambda x: x.squeeze(3),
                                  lambda x: x.flatten(0, 7), lambda x: tg.cat([x, x], dim=3),
                                  lambda x: tg.stack([x, x], axis=-5), lambda x: x.size(3),
                                  lambda x: x.var(dim=4), lambda x: x.amax(dim=(0, 3))])
def test_dim_out_of_range_is_an_index_error_as_in_pytorch(call, device):
    with pytest.raises(IndexError, match="dim .* out of range"):
        call(tg.ones(2, 3, 4, device=device))


@pytest.mark.parametrize("call", [lambda x: x.mean(axis=(0, 0)), lambda x: x.squeeze((1, 1)),
                                  lambda x: x.flatten(2, 1), lambda x: x.clip(None, None),
                                  lambda x: x.sum(dim=0, axis=0)])
def test_invalid_arguments_are_refused(call, device):
    with pytest.raises((ValueError, TypeError), match="twice|comes after|at least one|both"):
        call(tg.ones(2, 3, 4, device=device))


def test_permute_needs_a_permutation(device):
    with pytest.raises(ValueError, match=r"permute.*not a permutation.*\(2, 3, 4\)"):
        tg.ones(2, 3, 4, device=device).permute(0, 0, 1)


def test_index_out_of_range_names_the_shape(device):
    with pytest.raises(IndexError, match=r"getitem.*index 5.*\(3, 2\)"):
        tg.ones(3, 2, device=device)[5]


def test_backward_on_a_tensor_that_does_not_require_grad(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(3, device=device) * 2).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        with tg.no_grad():
            y = (tg.ones(3, requires_grad=True, device=device) * 2).sum()
        y.backward()


def test_backward_of_a_non_scalar_needs_a_gradient(device):
    y = tg.ones(2, 3, requires_grad=True, device=device) * 2
    with pytest.raises(RuntimeError, match=r"backward.*\(2, 3\).*scalar"):
        y.backward()
    with pytest.raises(ShapeError, match=r"backward.*\(3,\).*\(2, 3\)"):
        y.backward(tg.ones(3, device=device))


def test_grad_needs_inputs_that_require_grad(device):
    x = tg.ones(2, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(2,\)\) does not require grad"):
        tg.grad((x * 2).sum(), [x, tg.ones(2, device=device)])


def test_device_mismatch_names_both_devices():
    a, b = tg.ones(3), tg.ones(3)
    b.device = "cuda"   # no GPU here: pretend, to reach the check before any array math
    for op in (lambda: a + b, lambda: a * b, lambda: tg.where(a > 0, a, b), lambda: a == b,
               lambda: tg.cat([a, b]), lambda: a @ b):
        with pytest.raises(DeviceError, match=r"different devices, 'cpu' and 'cuda'.*\.to\(\)"):
            op()


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match=r"unknown device 'gpu'.*'cpu', 'cuda'"):
        tg.ones(2, device="gpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.Tensor([1.0], device="tpu")


def test_cuda_without_a_gpu_is_a_clear_error():
    if tg.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="cuda.*CuPy"):
        tg.ones(2, device="cuda")


@pytest.mark.parametrize("make", [lambda: tg.Tensor([1, 2], requires_grad=True),
                                  lambda: tg.arange(3, requires_grad=True),
                                  lambda: tg.zeros(2, dtype=np.int32, requires_grad=True),
                                  lambda: tg.Tensor([True, False]).requires_grad_()])
def test_only_floating_point_tensors_can_require_grad(make):
    with pytest.raises(TypeError, match="requires_grad.*floating-point.*(int|bool)"):
        make()


def test_item_of_a_tensor_with_several_elements():
    with pytest.raises(ValueError, match=r"item.*\(2,\)"):
        tg.ones(2).item()


def test_random_factories_need_a_float_dtype():
    with pytest.raises(TypeError, match="randn.*floating-point.*int64"):
        tg.randn(2, dtype=np.int64)
    with pytest.raises(TypeError, match="rand.*floating-point.*int32"):
        tg.rand(2, dtype=np.int32)


def test_wrong_gradient_shape_from_a_custom_function():
    class Broken(tg.Function):
        def forward(self, a):
            return a * 2

        def backward(self, grad):
            return grad.T    # (3, 2) for a (2, 3) input: no broadcasting can explain it

    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(ShapeError, match=r"Broken\.backward.*\(3, 2\).*\(2, 3\)"):
        Broken.apply(x).sum().backward()
