"""Reference solutions of lesson 14, and one plausible wrong answer per exercise."""
import numpy as np


def exercise_im2col(x, k):
    n, c, height, width = x.shape
    out_h, out_w = height - k + 1, width - k + 1
    cols = np.empty((n, c, k, k, out_h, out_w))
    for u in range(k):
        for v in range(k):
            cols[:, :, u, v] = x[:, :, u:u + out_h, v:v + out_w]
    return cols.reshape(n, c * k * k, out_h * out_w)


def wrong_im2col(x, k):
    """Rows ordered (u, v, c): the right numbers in an order the flattened weight does not use."""
    n, c, height, width = x.shape
    out_h, out_w = height - k + 1, width - k + 1
    cols = np.empty((n, k, k, c, out_h, out_w))
    for u in range(k):
        for v in range(k):
            cols[:, u, v] = x[:, :, u:u + out_h, v:v + out_w]
    return cols.reshape(n, c * k * k, out_h * out_w)


def exercise_receptive_field(layers):
    field, jump = 1, 1
    for k, stride in layers:
        field, jump = field + (k - 1) * jump, jump * stride
    return field


def wrong_receptive_field(layers):
    """Adds k - 1 per layer and forgets that strides spread the later layers."""
    return 1 + sum(k - 1 for k, _ in layers)
