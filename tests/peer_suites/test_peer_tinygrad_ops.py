"""Operator cases in the style of tinygrad's test_ops.py, our own version: every case is one
function written once and run on both ``torch`` and ``tinygrad_edu`` (``L.t`` is the top-level
module, ``L.F`` its ``nn.functional``, ``L.ints``/``L.bools`` make index and mask tensors); the
forward values are compared, and so are the gradients of ``out.sum()`` unless the case is
forward-only. Inputs are float32, uniform in [low, high), as in tinygrad's helper."""
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as tgF

torch = pytest.importorskip("torch")

TORCH = SimpleNamespace(t=torch, F=torch.nn.functional, ints=torch.from_numpy,
                        bools=lambda a: torch.from_numpy(np.asarray(a, bool)))
OURS = SimpleNamespace(t=tg, F=tgF, ints=tg.Tensor, bools=lambda a: tg.Tensor(np.asarray(a, bool)))
IDX = np.array([[0, 2, 1], [1, 1, 0]])
MASK = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])


def case(shapes, fn, low=-2.0, high=2.0, forward_only=False, atol=1e-6, rtol=1e-3):
    return SimpleNamespace(shapes=shapes, fn=fn, low=low, high=high, forward_only=forward_only,
                           atol=atol, rtol=rtol)


CASES = {
    # creation
    "zeros": case([], lambda L: L.t.zeros(4, 5), forward_only=True),
    "ones_like": case([(2, 3)], lambda L, x: L.t.ones_like(x), forward_only=True),
    "full": case([], lambda L: L.t.full((3, 2), 1.5), forward_only=True),
    "eye": case([], lambda L: L.t.eye(3, 5), forward_only=True),
    "arange": case([], lambda L: L.t.arange(2, 11, 3), forward_only=True),
    "arange_float": case([], lambda L: L.t.arange(0.5, 4.0, 0.75), forward_only=True),
    # elementwise
    "add": case([(45, 65), (45, 65)], lambda L, x, y: x + y),
    "add_broadcast": case([(45, 1), (1, 65)], lambda L, x, y: x + y),
    "add_scalar": case([(4, 5)], lambda L, x: 2.5 + x),
    "sub": case([(45, 65), (65,)], lambda L, x, y: x - y),
    "rsub": case([(4, 5)], lambda L, x: 3 - x),
    "mul": case([(64, 64), (64, 64)], lambda L, x, y: x * y),
    "mul_scalar": case([(4, 5)], lambda L, x: x * 2),
    "div": case([(45, 65), (45, 65)], lambda L, x, y: x / y, low=0.5),
    "rdiv": case([(4, 5)], lambda L, x: 2 / x, low=0.5),
    "neg": case([(45, 65)], lambda L, x: -x),
    "pow_int": case([(45, 65)], lambda L, x: x ** 3),
    "pow_half": case([(45, 65)], lambda L, x: x ** 0.5, low=0.1),
    "pow_tensor": case([(4, 5), (4, 5)], lambda L, x, y: x ** y, low=0.5),
    "rpow": case([(4, 5)], lambda L, x: 2.0 ** x),
    "sqrt": case([(45, 65)], lambda L, x: x.sqrt(), low=0.1),
    "rsqrt": case([(45, 65)], lambda L, x: x.rsqrt(), low=0.1),
    "exp": case([(45, 65)], lambda L, x: x.exp()),
    "exp2": case([(45, 65)], lambda L, x: x.exp2()),
    "expm1": case([(45, 65)], lambda L, x: x.expm1()),
    "log": case([(45, 65)], lambda L, x: x.log(), low=0.1),
    "log2": case([(45, 65)], lambda L, x: x.log2(), low=0.1),
    "log10": case([(45, 65)], lambda L, x: x.log10(), low=0.1),
    "log1p": case([(45, 65)], lambda L, x: x.log1p(), low=-0.5),
    "sin": case([(45, 65)], lambda L, x: x.sin(), low=-10, high=10),
    "cos": case([(45, 65)], lambda L, x: x.cos(), low=-10, high=10),
    "tan": case([(45, 65)], lambda L, x: x.tan(), low=-1.3, high=1.3),
    "asin": case([(45, 65)], lambda L, x: x.asin(), low=-0.9, high=0.9),
    "acos": case([(45, 65)], lambda L, x: x.acos(), low=-0.9, high=0.9),
    "atan": case([(45, 65)], lambda L, x: x.atan(), low=-5, high=5),
    "sinh": case([(45, 65)], lambda L, x: x.sinh()),
    "cosh": case([(45, 65)], lambda L, x: x.cosh()),
    "tanh": case([(45, 65)], lambda L, x: x.tanh()),
    "sigmoid": case([(45, 65)], lambda L, x: x.sigmoid()),
    "sigmoid_extreme": case([(45, 65)], lambda L, x: x.sigmoid(), low=-300, high=300),
    "relu": case([(45, 65)], lambda L, x: x.relu()),
    "abs": case([(45, 65)], lambda L, x: x.abs()),
    "sign": case([(45, 65)], lambda L, x: x.sign()),
    "floor": case([(45, 65)], lambda L, x: x.floor(), low=-5, high=5),
    "ceil": case([(45, 65)], lambda L, x: x.ceil(), low=-5, high=5),
    "round": case([(45, 65)], lambda L, x: x.round(), low=-5, high=5),
    "trunc": case([(45, 65)], lambda L, x: x.trunc(), low=-5, high=5),
    "erf": case([(45, 65)], lambda L, x: x.erf()),
    "clip": case([(45, 65)], lambda L, x: x.clip(-0.8, 1.2)),
    "clamp_min_only": case([(45, 65)], lambda L, x: x.clamp(min=-0.5)),
    "maximum": case([(45, 65), (45, 65)], lambda L, x, y: L.t.maximum(x, y)),
    "minimum": case([(45, 65), (45, 65)], lambda L, x, y: L.t.minimum(x, y)),
    "where": case([(3, 4), (3, 4)], lambda L, x, y: L.t.where(L.bools(MASK), x, y)),
    "masked_fill": case([(3, 4)], lambda L, x: x.masked_fill(L.bools(MASK), -1.5)),
    "isnan": case([(3, 4)], lambda L, x: (x / 0 * 0).isnan(), forward_only=True),
    "isinf": case([(3, 4)], lambda L, x: (x / 0).isinf(), forward_only=True),
    "isfinite": case([(3, 4)], lambda L, x: (x.log()).isfinite(), forward_only=True),
    "cmp_lt": case([(45, 65), (45, 65)], lambda L, x, y: x < y, forward_only=True),
    "cmp_eq": case([(3, 4)], lambda L, x: x.round() == 0, forward_only=True),
    "cmp_ge_scalar": case([(3, 4)], lambda L, x: x >= 0.5, forward_only=True),
    "invert_bool": case([(3, 4)], lambda L, x: ~(x > 0), forward_only=True),
    # reductions
    "sum": case([(45, 3)], lambda L, x: x.sum()),
    "sum_axis": case([(3, 4, 5, 6)], lambda L, x: x.sum(axis=(1, 2))),
    "sum_keepdim": case([(3, 4, 5)], lambda L, x: x.sum(1, keepdim=True)),
    "sum_dim_keyword": case([(3, 4, 5)], lambda L, x: x.sum(dim=2)),
    "mean": case([(45, 3)], lambda L, x: x.mean()),
    "mean_axis": case([(3, 4, 5)], lambda L, x: x.mean(axis=(0, 2))),
    "max_all": case([(45, 3)], lambda L, x: x.max()),
    "min_all": case([(45, 3)], lambda L, x: x.min()),
    "max_dim_values": case([(4, 5)], lambda L, x: x.max(1)[0]),
    "max_dim_indices": case([(4, 5)], lambda L, x: x.max(dim=1).indices, forward_only=True),
    "amax": case([(4, 5)], lambda L, x: x.amax(1)),
    "argmax": case([(4, 5)], lambda L, x: x.argmax(1), forward_only=True),
    "argmin_all": case([(4, 5)], lambda L, x: x.argmin(), forward_only=True),
    "var_unbiased": case([(4, 5)], lambda L, x: x.var(1)),
    "std": case([(4, 5)], lambda L, x: x.std()),
    "logsumexp": case([(4, 5)], lambda L, x: x.logsumexp(1)),
    "prod": case([(4, 5)], lambda L, x: x.prod(1), low=0.5, high=1.5),
    "prod_all": case([(3, 3)], lambda L, x: x.prod()),
    "cumsum": case([(4, 5)], lambda L, x: x.cumsum(1)),
    "cumsum_dim0": case([(20,)], lambda L, x: x.cumsum(0)),
    "cumprod": case([(4, 5)], lambda L, x: x.cumprod(0)),
    "any": case([(4, 5)], lambda L, x: (x > 1.5).any(1), forward_only=True),
    "all": case([(4, 5)], lambda L, x: (x > -1.9).all(), forward_only=True),
    "norm": case([(4, 5)], lambda L, x: x.norm()),
    "norm_dim": case([(4, 5)], lambda L, x: x.norm(dim=1)),
    "softmax": case([(45, 65)], lambda L, x: x.softmax(1)),
    "softmax_dim": case([(4, 5, 6)], lambda L, x: x.softmax(dim=-2)),
    "log_softmax": case([(45, 65)], lambda L, x: x.log_softmax(1)),
    "top_softmax": case([(4, 5)], lambda L, x: L.t.softmax(x, 1)),
    # matmul
    "matmul": case([(64, 32), (32, 16)], lambda L, x, y: x @ y, atol=1e-4),
    "matmul_vector": case([(32,), (32, 8)], lambda L, x, y: x @ y, atol=1e-4),
    "matmul_batched": case([(3, 4, 5), (3, 5, 2)], lambda L, x, y: x @ y, atol=1e-4),
    "matmul_broadcast": case([(2, 1, 4, 5), (3, 5, 2)], lambda L, x, y: L.t.matmul(x, y),
                             atol=1e-4),
    "dot_vector": case([(8,), (8,)], lambda L, x, y: x @ y, atol=1e-4),
    "einsum": case([(3, 4), (4, 5)], lambda L, x, y: L.t.einsum("ij,jk->ik", x, y)),
    # movement
    "reshape": case([(4, 3, 6, 6)], lambda L, x: x.reshape(-1, 3, 6, 6)),
    "view": case([(4, 3, 6, 6)], lambda L, x: x.view(12, 36)),
    "permute": case([(1, 2, 3, 4)], lambda L, x: x.permute(3, 0, 2, 1)),
    "transpose": case([(3, 4, 5)], lambda L, x: x.transpose(0, 2)),
    "T": case([(3, 4)], lambda L, x: x.T),
    "flatten": case([(2, 3, 4, 5)], lambda L, x: x.flatten(1)),
    "flatten_range": case([(2, 3, 4, 5)], lambda L, x: x.flatten(1, 2)),
    "squeeze": case([(3, 1, 4, 1)], lambda L, x: x.squeeze()),
    "squeeze_dim": case([(3, 1, 4, 1)], lambda L, x: x.squeeze(1)),
    "unsqueeze": case([(3, 4)], lambda L, x: x.unsqueeze(-1)),
    "expand": case([(3, 1)], lambda L, x: x.expand(2, 3, 4)),
    "expand_minus_one": case([(3, 1)], lambda L, x: x.expand(-1, 5)),
    "repeat": case([(3, 4)], lambda L, x: x.repeat(2, 1, 3)),
    "flip": case([(3, 4, 5)], lambda L, x: x.flip(0, 2)),
    "flip_tuple": case([(3, 4, 5)], lambda L, x: x.flip((1,))),
    "roll": case([(3, 4)], lambda L, x: x.roll(2, 1)),
    "roll_negative": case([(3, 4)], lambda L, x: x.roll(-1, 0)),
    "cat": case([(3, 4), (2, 4)], lambda L, x, y: L.t.cat([x, y])),
    "cat_positional_dim": case([(3, 4), (3, 2)], lambda L, x, y: L.t.cat([x, y], 1)),
    "cat_dim": case([(3, 4), (3, 2)], lambda L, x, y: L.t.cat([x, y], dim=1)),
    "stack": case([(3, 4), (3, 4)], lambda L, x, y: L.t.stack([x, y], 1)),
    "split_sum": case([(10, 3)], lambda L, x: x.split(4)[2] * 2 + x.split(4)[0][:2]),
    "split_sections": case([(10, 3)], lambda L, x: x.split([3, 7])[1].sum(0)),
    "chunk": case([(7, 6)], lambda L, x: x.chunk(3, 1)[2]),
    "unbind": case([(3, 4)], lambda L, x: x.unbind(1)[3]),
    "narrow": case([(5, 6)], lambda L, x: x.narrow(1, 2, 3)),
    "unfold_tensor": case([(8,)], lambda L, x: x.unfold(0, 3, 2)),
    "gather": case([(2, 4)], lambda L, x: x.gather(1, L.ints(IDX))),
    "scatter": case([(2, 4), (2, 3)], lambda L, x, s: x.scatter(1, L.ints(np.array(
        [[0, 1, 3], [3, 2, 0]])), s)),
    "scatter_add": case([(2, 4), (2, 3)], lambda L, x, s: x.scatter_add(1, L.ints(IDX), s)),
    "index_select": case([(4, 5)], lambda L, x: x.index_select(0, L.ints(np.array([3, 0, 3])))),
    "sort": case([(4, 5)], lambda L, x: x.sort(1)[0]),
    "sort_descending": case([(4, 5)], lambda L, x: x.sort(0, descending=True).values),
    "argsort": case([(4, 5)], lambda L, x: x.argsort(1), forward_only=True),
    "topk": case([(4, 5)], lambda L, x: x.topk(2).values),
    "topk_indices": case([(4, 5)], lambda L, x: x.topk(3, dim=0).indices, forward_only=True),
    "getitem_slice": case([(6, 7)], lambda L, x: x[1:5:2, -3:]),
    "getitem_int": case([(6, 7)], lambda L, x: x[2]),
    "getitem_none_ellipsis": case([(3, 4, 5)], lambda L, x: x[None, ..., 1]),
    "getitem_fancy": case([(6, 7)], lambda L, x: x[L.ints(np.array([0, 2, 2]))]),
    "getitem_bool": case([(3, 4)], lambda L, x: x[L.bools(MASK)]),
    "tril": case([(4, 4)], lambda L, x: L.t.tril(x)),
    "triu_diagonal": case([(4, 5)], lambda L, x: L.t.triu(x, 1)),
    # integer arithmetic
    "mod": case([(4, 5)], lambda L, x: x % 0.7),
    "floordiv": case([(4, 5)], lambda L, x: x // 0.7, forward_only=True),
    "bitwise_and": case([], lambda L: L.ints(np.array([5, 3, 12])) & L.ints(np.array([3, 6, 10])),
                        forward_only=True),
    "bitwise_or_xor": case([], lambda L: (L.ints(np.array([5, 3])) | 8) ^ 1, forward_only=True),
    "pow_method": case([(4, 5)], lambda L, x: x.pow(2)),
    "add_method": case([(4, 5), (4, 5)], lambda L, x, y: x.add(y).mul(2)),
    # nn.functional
    "linear": case([(4, 8), (3, 8), (3,)], lambda L, x, w, b: L.F.linear(x, w, b), atol=1e-5),
    "conv2d": case([(2, 3, 9, 9), (4, 3, 3, 3)], lambda L, x, w: L.F.conv2d(x, w), atol=1e-4),
    "conv2d_bias_stride_pad": case([(2, 3, 9, 8), (4, 3, 3, 2), (4,)], lambda L, x, w, b:
                                   L.F.conv2d(x, w, b, stride=2, padding=1), atol=1e-4),
    "conv2d_dilation_groups": case([(1, 4, 9, 9), (6, 2, 3, 3)], lambda L, x, w:
                                   L.F.conv2d(x, w, dilation=2, groups=2), atol=1e-4),
    "conv1d": case([(2, 3, 11), (4, 3, 3)], lambda L, x, w: L.F.conv1d(x, w, padding=1, stride=2),
                   atol=1e-4),
    "conv_transpose2d": case([(2, 4, 5, 5), (4, 3, 3, 3)], lambda L, x, w:
                             L.F.conv_transpose2d(x, w, stride=2, padding=1), atol=1e-4),
    "conv_transpose2d_output_padding": case([(1, 2, 4, 4), (2, 2, 2, 3)], lambda L, x, w:
                                            L.F.conv_transpose2d(x, w, stride=3,
                                                                 output_padding=1), atol=1e-4),
    "max_pool2d": case([(2, 3, 8, 8)], lambda L, x: L.F.max_pool2d(x, 2)),
    "max_pool2d_stride_pad": case([(2, 3, 9, 9)], lambda L, x: L.F.max_pool2d(x, 3, 2, 1)),
    "max_pool2d_dilation": case([(1, 2, 9, 9)], lambda L, x: L.F.max_pool2d(x, 2, dilation=2)),
    "max_pool2d_ceil": case([(1, 2, 7, 7)], lambda L, x: L.F.max_pool2d(x, 2, ceil_mode=True)),
    "avg_pool2d": case([(2, 3, 8, 8)], lambda L, x: L.F.avg_pool2d(x, 2)),
    "avg_pool2d_pad": case([(2, 3, 7, 7)], lambda L, x: L.F.avg_pool2d(x, 3, 2, 1)),
    "avg_pool2d_no_pad_count": case([(2, 3, 7, 7)], lambda L, x: L.F.avg_pool2d(
        x, 3, 2, 1, count_include_pad=False)),
    "adaptive_avg_pool2d": case([(2, 3, 7, 9)], lambda L, x: L.F.adaptive_avg_pool2d(x, (3, 4))),
    "interpolate_nearest": case([(1, 2, 4, 5)], lambda L, x: L.F.interpolate(x, scale_factor=2)),
    "interpolate_bilinear": case([(1, 2, 4, 5)], lambda L, x: L.F.interpolate(
        x, size=(7, 3), mode="bilinear", align_corners=False)),
    "interpolate_bilinear_corners": case([(1, 2, 4, 5)], lambda L, x: L.F.interpolate(
        x, size=(6, 8), mode="bilinear", align_corners=True)),
    "pad_constant": case([(2, 3, 4)], lambda L, x: L.F.pad(x, (1, 2, 3, 0))),
    "pad_crop": case([(2, 3, 4)], lambda L, x: L.F.pad(x, (-1, 1, 0, -2))),
    "pad_reflect": case([(1, 2, 4, 5)], lambda L, x: L.F.pad(x, (2, 2, 1, 3), mode="reflect")),
    "pad_replicate": case([(1, 2, 4, 5)], lambda L, x: L.F.pad(x, (3, 1, 2, 2),
                                                               mode="replicate")),
    "unfold_im2col": case([(2, 3, 6, 6)], lambda L, x: L.F.unfold(x, 3, padding=1, stride=2)),
    "fold_col2im": case([(2, 12, 9)], lambda L, x: L.F.fold(x, (4, 4), 2, padding=1, stride=2)),
    "relu_F": case([(45, 65)], lambda L, x: L.F.relu(x)),
    "leaky_relu": case([(45, 65)], lambda L, x: L.F.leaky_relu(x, 0.05)),
    "elu": case([(45, 65)], lambda L, x: L.F.elu(x)),
    "selu": case([(45, 65)], lambda L, x: L.F.selu(x)),
    "silu": case([(45, 65)], lambda L, x: L.F.silu(x)),
    "mish": case([(45, 65)], lambda L, x: L.F.mish(x)),
    "gelu": case([(45, 65)], lambda L, x: L.F.gelu(x)),
    "gelu_tanh": case([(45, 65)], lambda L, x: L.F.gelu(x, approximate="tanh")),
    "softplus": case([(45, 65)], lambda L, x: L.F.softplus(x)),
    "softplus_beta": case([(45, 65)], lambda L, x: L.F.softplus(x, beta=2.0)),
    "hardtanh": case([(45, 65)], lambda L, x: L.F.hardtanh(x, -0.5, 0.5)),
    "logsigmoid": case([(45, 65)], lambda L, x: L.F.logsigmoid(x)),
    "softmax_F": case([(4, 5)], lambda L, x: L.F.softmax(x, dim=1)),
    "log_softmax_F": case([(4, 5)], lambda L, x: L.F.log_softmax(x, dim=0)),
    "layer_norm": case([(4, 6), (6,), (6,)], lambda L, x, w, b: L.F.layer_norm(x, (6,), w, b),
                       atol=1e-5),
    "normalize": case([(4, 6)], lambda L, x: L.F.normalize(x, dim=1)),
    "cosine_similarity": case([(4, 6), (4, 6)], lambda L, x, y: L.F.cosine_similarity(x, y)),
    "one_hot": case([], lambda L: L.F.one_hot(L.ints(np.array([0, 3, 1])), 5), forward_only=True),
    "embedding": case([(10, 4)], lambda L, w: L.F.embedding(L.ints(np.array([[1, 3], [3, 9]])),
                                                            w)),
    "dropout_eval": case([(4, 5)], lambda L, x: L.F.dropout(x, 0.5, training=False)),
    "mse_loss": case([(4, 5), (4, 5)], lambda L, x, y: L.F.mse_loss(x, y)),
    "l1_loss": case([(4, 5), (4, 5)], lambda L, x, y: L.F.l1_loss(x, y, reduction="sum")),
    "smooth_l1_loss": case([(4, 5), (4, 5)], lambda L, x, y: L.F.smooth_l1_loss(x, y)),
    "cross_entropy": case([(4, 5)], lambda L, x: L.F.cross_entropy(x, L.ints(
        np.array([0, 4, 2, 2])))),
    "cross_entropy_smoothing": case([(4, 5)], lambda L, x: L.F.cross_entropy(
        x, L.ints(np.array([0, 4, 2, 2])), label_smoothing=0.1)),
    "nll_loss": case([(4, 5)], lambda L, x: L.F.nll_loss(x.log_softmax(1), L.ints(
        np.array([1, 1, 0, 3])))),
    "binary_cross_entropy": case([(4, 5), (4, 5)], lambda L, x, y: L.F.binary_cross_entropy(
        x.sigmoid(), (y > 0).float())),
    "bce_with_logits": case([(4, 5), (4, 5)], lambda L, x, y:
                            L.F.binary_cross_entropy_with_logits(x, (y > 0).float())),
    "kl_div": case([(4, 5), (4, 5)], lambda L, x, y: L.F.kl_div(
        x.log_softmax(1), y.softmax(1), reduction="batchmean")),
    "sdpa": case([(2, 4, 8), (2, 6, 8), (2, 6, 8)], lambda L, q, k, v:
                 L.F.scaled_dot_product_attention(q, k, v), atol=1e-5),
    "sdpa_causal": case([(2, 5, 8), (2, 5, 8), (2, 5, 8)], lambda L, q, k, v:
                        L.F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5),
    "sdpa_mask": case([(3, 4), (4, 4), (4, 4)], lambda L, q, k, v:
                      L.F.scaled_dot_product_attention(q, k, v, attn_mask=L.bools(MASK)),
                      atol=1e-5),
}


def _inputs(spec, rng):
    arrays = [rng.uniform(spec.low, spec.high, size=shape).astype(np.float32)
              for shape in spec.shapes]
    theirs = [torch.tensor(a, requires_grad=not spec.forward_only) for a in arrays]
    ours = [tg.Tensor(a, requires_grad=not spec.forward_only) for a in arrays]
    return theirs, ours


@pytest.mark.parametrize("name", list(CASES))
def test_op(name):
    spec = CASES[name]
    theirs, ours = _inputs(spec, np.random.default_rng(0))
    expected, out = spec.fn(TORCH, *theirs), spec.fn(OURS, *ours)
    expected_np = expected.detach().numpy()
    assert out.shape == expected_np.shape
    assert out.dtype == expected_np.dtype, f"dtype {out.dtype}, PyTorch's {expected_np.dtype}"
    np.testing.assert_allclose(out.numpy(), expected_np, atol=spec.atol, rtol=spec.rtol)
    if spec.forward_only or not theirs:
        return
    expected_grads = torch.autograd.grad(expected.sum(), theirs, allow_unused=True)
    grads = tg.grad(out.sum(), ours, allow_unused=True)
    for g, e in zip(grads, expected_grads):
        if e is None:
            assert g is None or not g.numpy().any()
            continue
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=max(spec.atol, 1e-4), rtol=1e-3)
