"""LoRA: fine-tune a large layer through a small low-rank correction (Hu et al., 2021).

Fine-tuning every weight of a pre-trained model costs as much memory (gradients, optimizer
state) as pre-training did, and each fine-tuned copy is as large as the model. LoRA keeps the
pre-trained weight W (out × in) frozen and learns only a correction of low rank r:

    y = x Wᵀ + b + (alpha / r) · x Aᵀ Bᵀ        A (r × in), B (out × r), r << min(in, out)

so a layer trains r·(in + out) numbers instead of in·out. A starts random (PyTorch's default
Linear initialisation, as in the reference implementation) and B at zero, so B A = 0: before
training, the wrapped model computes exactly what the pre-trained one did. The factor
alpha / r keeps the size of the update comparable when r changes.

Backward: W and b are frozen (``requires_grad`` False), so only the LoRA path gets gradients,

    dL/dB = (alpha/r) · gᵀ (x Aᵀ),    dL/dA = (alpha/r) · (g B)ᵀ x,    g = dL/dy,

which the engine derives from the matmuls. Once trained, ``merge()`` folds the correction into
the weight, W' = W + (alpha/r)·B A, giving a plain ``Linear`` that costs nothing extra at
inference; ``nn.utils.apply_lora`` and ``nn.utils.merge_lora`` do this for a whole model, and
``lora_state_dict`` saves the adapters alone (a few KB next to the base checkpoint).
"""
from __future__ import annotations

import math

from .. import creation
from ..autograd import ShapeError, no_grad
from ..tensor import Tensor
from . import init
from .linear import Linear
from .module import Module, Parameter


class LoRALinear(Module):
    """``LoRALinear(linear, rank, alpha=1.0)``: ``linear`` frozen plus (alpha/rank)·B A.

    Submodule ``base_layer`` (the wrapped Linear) and parameters ``lora_A`` (rank, in_features)
    and ``lora_B`` (out_features, rank), the names of the PEFT library."""

    def __init__(self, linear: Linear, rank: int, alpha: float = 1.0):
        super().__init__()
        if not isinstance(linear, Linear):
            raise TypeError(f"LoRALinear: expected an nn.Linear to wrap, got "
                            f"{type(linear).__name__}")
        if not isinstance(rank, int) or rank < 1:
            raise ValueError(f"LoRALinear: rank must be a positive integer, got {rank!r}")
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        self.base_layer = linear
        for p in linear.parameters():
            p.requires_grad = False
        dtype, device = linear.weight.dtype, linear.weight.device
        self.lora_A = Parameter(init.kaiming_uniform_(
            creation.zeros(rank, self.in_features, dtype=dtype, device=device), a=math.sqrt(5)))
        self.lora_B = Parameter(creation.zeros(self.out_features, rank, dtype=dtype,
                                               device=device))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"LoRALinear: expected input of shape (..., {self.in_features}), "
                             f"got {x.shape}")
        low_rank = (x @ self.lora_A.T) @ self.lora_B.T                      # (..., out)
        return self.base_layer(x) + low_rank * self.scaling                 # (..., out)

    @no_grad()
    def merge(self) -> Linear:
        """A new plain Linear with W + (alpha/rank)·B A and the same bias. Its parameters are
        new tensors, so a weight the base layer shared (a tied embedding) is left as it was."""
        base = self.base_layer
        merged = Linear(self.in_features, self.out_features, bias=base.bias is not None)
        delta = (self.lora_B.data @ self.lora_A.data) * self.scaling       # (out, in)
        merged.weight = Parameter(Tensor._make(base.weight.data + delta, base.weight.device),
                                  requires_grad=base.weight.requires_grad)
        if base.bias is not None:
            merged.bias = Parameter(Tensor._make(base.bias.data.copy(), base.bias.device),
                                    requires_grad=base.bias.requires_grad)
        return merged

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"rank={self.rank}, alpha={self.alpha}")


def replace_submodule(model: Module, path: str, new: Module) -> None:
    """Put ``new`` where the submodule at dotted ``path`` was, in the same place of its
    parent's order (which a Sequential runs in; ``setattr`` would move it to the end)."""
    parent_path, _, name = path.rpartition(".")
    dict(model.named_modules())[parent_path]._modules[name] = new


def _matches(path: str, targets) -> bool:
    """A target names a module by its last name ("c_attn") or by a dotted tail ("attn.c_proj")."""
    return any(path == target or path.endswith("." + target) for target in targets)


def apply_lora(model: Module, rank: int, alpha: float = 1.0, target_modules=None) -> Module:
    """Freeze every parameter of ``model`` and wrap each ``Linear`` named in ``target_modules``
    (last names such as ``"c_attn"``, or dotted tails; None: every Linear) in a ``LoRALinear``,
    in place. Returns the model, whose only trainable parameters are then the adapters."""
    targets = (target_modules,) if isinstance(target_modules, str) else target_modules
    linears = [path for path, module in model.named_modules() if isinstance(module, Linear)]
    chosen = [path for path in linears if targets is None or _matches(path, targets)]
    if not chosen:
        raise ValueError(f"apply_lora: no Linear module of {type(model).__name__} matches "
                         f"target_modules={list(targets)}; its Linear modules are {linears}")
    for p in model.parameters():
        p.requires_grad = False
    modules = dict(model.named_modules())
    for path in chosen:
        replace_submodule(model, path, LoRALinear(modules[path], rank, alpha))
    return model


def merge_lora(model: Module) -> Module:
    """Replace every ``LoRALinear`` of ``model`` by its merged ``Linear`` (W + (alpha/r)·B A),
    in place; the outputs stay the same to float rounding. Returns the model."""
    for path, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            replace_submodule(model, path, module.merge())
    return model


def lora_state_dict(model: Module) -> dict:
    """The adapters alone (``...lora_A``, ``...lora_B``): what a LoRA checkpoint holds."""
    return {name: tensor for name, tensor in model.state_dict().items()
            if name.endswith((".lora_A", ".lora_B"))}


def load_lora_state_dict(model: Module, state_dict) -> None:
    """Load adapters saved by ``lora_state_dict`` into a model that ``apply_lora`` prepared in
    the same way (its base weights loaded from the base checkpoint). Every model adapter must
    be in ``state_dict`` and nothing else may be."""
    own = lora_state_dict(model)
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    if missing or unexpected:
        raise KeyError(f"load_lora_state_dict into {type(model).__name__}: the adapters do not "
                       f"match the model's (missing: {missing}; unexpected: {unexpected}); was "
                       f"apply_lora called with the same rank and target_modules?")
    model.load_state_dict(state_dict, strict=False)
