"""``after_backward(out, callback)``: run ``callback`` once backward has finished below ``out``.

The engine has no hooks; this identity step makes one. Backward meets it before anything that
``out`` was computed from (it sits *after* ``out`` in the graph). Its backward runs the whole
backward from ``out`` down, so every leaf below has its ``.grad``, then calls ``callback()``,
and sends nothing further down itself (the work is done). ``DistributedDataParallel``
(nn/parallel.py) uses it to average the gradients right after ``loss.backward()``.

First order only: the inner backward does not record a graph.
"""
from __future__ import annotations

from ..autograd import Function, backward, is_grad_enabled
from ..tensor import Tensor


class AfterBackward(Function):
    """z = out;   backward: backward(out, grad), then callback(); no gradient passed on."""

    def forward(self, out, callback):
        self.callback = callback
        return out

    def backward(self, grad):
        if is_grad_enabled():   # backward runs with grad mode on only under create_graph=True
            raise RuntimeError("after_backward: second derivatives are not supported (backward "
                               "was called with create_graph=True)")
        backward(self.inputs[0], grad)
        self.callback()
        return None


def after_backward(out: Tensor, callback) -> Tensor:
    """``out`` itself, linked so that ``callback()`` runs when a backward through it finishes."""
    return AfterBackward.apply(out, callback=callback)
