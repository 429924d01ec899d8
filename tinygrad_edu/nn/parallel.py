"""``DistributedDataParallel``: one copy of the model per process, kept identical.

Data parallelism splits every batch of B samples across N processes (``mpirun -n N``): each
computes the loss on its B/N samples and the gradient of that loss. With a mean loss,

    L = (1/B) Σ_i ℓ_i = (1/N) Σ_r L_r        where L_r is the mean over rank r's B/N samples,

so the gradient of the whole batch is the *average* of the ranks' gradients:

    ∂L/∂θ = (1/N) Σ_r ∂L_r/∂θ                 one all-reduce (a sum), divided by N.

If every copy starts from the same θ and every copy applies the same averaged gradient, the
copies stay identical, step after step, and the run is the one a single process would make on the
whole batch (up to rounding). Two things make that so, and this wrapper does both:

1. **At construction** rank 0's parameters and buffers are broadcast to every rank.
2. **After backward** the gradients are averaged with ``all_reduce``. Not one call per parameter:
   a call costs a fixed latency however small its array, so the gradients are packed into
   *buckets* of up to ``bucket_cap_mb`` megabytes (PyTorch's default, 25 MB) and each bucket is
   reduced as one flat array. Buckets are filled in reverse order of the parameters, the order
   in which backward finishes them.

How "after backward" is found without hooks in the engine: the wrapper's output is an identity
step placed after the model's output (tinygrad_edu/ops/after_backward.py::AfterBackward).
Backward meets it first; it runs the model's own backward from there, then averages the
gradients, and passes nothing further down. So ``loss.backward()`` returns with the averaged
gradients already in ``.grad`` and the optimizer step needs no change. (A consequence: only first derivatives; and a
backward through two outputs of the model reduces twice, which costs time but is still right,
since averaging gradients that are already equal changes nothing.)

Inside ``with ddp.no_sync():`` gradients are only accumulated locally, for gradient
accumulation over several small batches before one synchronised step.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import backend
from ..autograd import is_grad_enabled
from ..ops.after_backward import after_backward
from ..tensor import Tensor
from .module import Module


class DistributedDataParallel(Module):
    """Wrap ``module`` so that every rank's copy starts equal and takes the same steps.

    ``ddp(x)`` runs ``module(x)``; after ``loss.backward()`` every parameter's ``.grad`` is the
    average over the ranks. Parameters are broadcast from rank 0 here, and with
    ``broadcast_buffers=True`` the buffers (BatchNorm's running statistics) are too, before every
    forward in training mode. The process group must be initialised first.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25, broadcast_buffers: bool = True):
        super().__init__()
        from .. import distributed as dist
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb}")
        self.module = module
        self.world_size = dist.get_world_size()
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self.buckets = make_buckets(list(module.parameters()), int(bucket_cap_mb * 2 ** 20))
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor, src=0)

    def forward(self, *inputs, **kwargs):
        from .. import distributed as dist
        if self.broadcast_buffers and self.training:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        output = self.module(*inputs, **kwargs)
        if isinstance(output, tuple):
            return tuple(self._synchronised(out) for out in output)
        return self._synchronised(output)

    def _synchronised(self, out):
        if isinstance(out, Tensor) and out.requires_grad and is_grad_enabled():
            return after_backward(out, self._after_backward)
        return out

    def _after_backward(self) -> None:
        if self.require_backward_grad_sync:
            self.average_gradients()

    @contextlib.contextmanager
    def no_sync(self):
        """Within the block, backward accumulates local gradients without communicating."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def average_gradients(self) -> None:
        """Replace every parameter's ``.grad`` by its average over the ranks, bucket by bucket.

        A parameter without a gradient on this rank takes part with zeros (another rank may
        have one), so afterwards every parameter has a gradient."""
        from .. import distributed as dist
        for bucket in self.buckets:
            flat = np.concatenate([backend.asnumpy(p.grad.data).reshape(-1) if p.grad is not None
                                   else np.zeros(p.numel(), dtype=p.dtype) for p in bucket])
            flat = Tensor._make(flat, "cpu")                   # (bucket elements,)
            dist.all_reduce(flat)
            flat.data /= self.world_size
            offset = 0
            for p in bucket:
                piece = flat.data[offset:offset + p.numel()].reshape(p.shape)
                p.grad = Tensor._make(p.xp.asarray(piece), p.device)   # on the CPU: a view
                offset += p.numel()

    def extra_repr(self) -> str:
        sizes = ", ".join(str(len(bucket)) for bucket in self.buckets)
        return f"world_size={self.world_size}, buckets of [{sizes}] parameters"


def make_buckets(parameters: list, cap_bytes: int) -> list[list]:
    """Group ``parameters`` into lists of at most ``cap_bytes`` bytes each (a larger parameter
    gets a bucket of its own), in reverse order, one dtype per bucket."""
    buckets, current, size = [], [], 0
    for p in reversed(parameters):
        nbytes = p.numel() * p.dtype.itemsize
        if current and (size + nbytes > cap_bytes or p.dtype != current[0].dtype):
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(current)
    return buckets
