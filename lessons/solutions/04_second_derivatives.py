"""Reference solutions of lesson 04, and one plausible wrong answer per exercise."""
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def exercise_second_derivative(f, x):
    x = Tensor(np.array(x), requires_grad=True)
    (slope,) = tg.grad(f(x), x, create_graph=True)
    (curvature,) = tg.grad(slope, x)
    return curvature.item()


def wrong_second_derivative(f, x):
    """Stops after the first derivative."""
    x = Tensor(np.array(x), requires_grad=True)
    (slope,) = tg.grad(f(x), x)
    return slope.item()


def exercise_hessian(f, w):
    w = Tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    (gradient,) = tg.grad(f(w), w, create_graph=True)
    columns = []
    for unit in np.eye(w.shape[0]):
        (column,) = tg.grad((gradient * Tensor(unit)).sum(), w, create_graph=True)
        columns.append(column.numpy())
    return np.stack(columns, axis=1)


def wrong_hessian(f, w):
    """The outer product of the gradient with itself (a Gauss-Newton guess), not the Hessian."""
    w = Tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
    (gradient,) = tg.grad(f(w), w)
    return np.outer(gradient.numpy(), gradient.numpy())
