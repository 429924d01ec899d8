"""The backward walk: from a loss back to the leaves, and the switch that says whether it records.

The walk needs to know only this of each operation it meets: a tensor's ``grad_fn`` lists the
operation's ``inputs`` and gives their gradients for the gradient of its output
(``input_gradients``). ``autograd.py`` then defines ``Function``, the operations' base class,
on top of this file (and gives the walk's names to its users: ``tg.autograd.grad`` and
``tg.autograd.backward``, as ``torch.autograd`` does).

- :func:`backward` and :func:`grad` seed the walk; ``_backpropagate`` visits the graph in
  reverse topological order (``_topological_order``, without recursion) and sums the gradients
  that arrive for a tensor from its several uses.
- :func:`sum_to` undoes broadcasting, the one place in the engine that does.
- ``no_grad`` / ``enable_grad`` say whether new operations are recorded; inside the walk, the
  mode is ``create_graph``.
- ``ShapeError`` and ``DeviceError``, the errors every operation raises, live here because the
  walk raises them too.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # for the annotations only: the core never imports Tensor or Function at run time
    from .autograd import Function
    from .tensor import Tensor


class ShapeError(ValueError, RuntimeError):
    """An operation got inputs whose shapes do not fit together. It is a ``ValueError`` and, as
    PyTorch raises for the same mistakes, a ``RuntimeError``, so either ``except`` catches it."""


class DeviceError(RuntimeError):
    """An operation got tensors that live on different devices."""


# ----------------------------------------------------------------------------- gradient mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when new operations are recorded in the graph."""
    return _grad_enabled


class _GradMode:
    """Set whether operations are recorded, for a ``with`` block or a decorated function."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """``with no_grad():`` runs operations without recording them (inference, optimizer steps)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    """``with enable_grad():`` records operations again inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


# ----------------------------------------------------------------------------- the backward walk

def sum_to(grad: Tensor, shape: tuple, op: str = "backward") -> Tensor:
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched.

    If x of shape (3, 1) was broadcast to (2, 3, 4) in the forward pass, each x element was used
    2*4 times, so dL/dx is dL/dy summed over axis 0 (added) and axis 2 (stretched from 1).
    This is the only place in the engine that knows about broadcasting in reverse.
    """
    lead = grad.ndim - len(shape)
    if lead < 0 or any(n not in (1, m) for n, m in zip(shape, grad.shape[lead:])):
        raise ShapeError(f"{op} returned a gradient of shape {grad.shape} for an input of "
                         f"shape {tuple(shape)}")
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if grad.shape != tuple(shape) else grad


def _topological_order(roots, stop=frozenset()) -> list:
    """Every tensor that needs a gradient, each after all of its inputs (not looking past the
    tensors whose ids are in ``stop``). No recursion, so a graph 100,000 operations deep is
    fine: an explicit stack holds (tensor, inputs_done) pairs."""
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node.grad_fn is not None and id(node) not in stop:
            for parent in node.grad_fn.inputs:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
    return order


_FREED = ("backward: trying to go backward through the graph a second time; its intermediate "
          "results were released by the first backward. Pass retain_graph=True to the first "
          "backward (or grad) call to walk it again")


def _backpropagate(outputs, seeds, create_graph: bool, targets=None,
                   retain_graph: bool = True, partial: bool = False) -> dict:
    """Send ``seeds`` (dL/d output) back through the graph.

    With ``targets=None`` the gradients of the leaves are added to their ``.grad``; otherwise the
    gradients of the tensors whose ids are in ``targets`` are returned as {id: gradient}.
    Without ``retain_graph`` every function walked is marked as released, as PyTorch frees the
    buffers a backward needs, so a second walk through it raises instead of silently working.
    With ``partial`` the walk stops at the targets: their gradients are partial derivatives,
    each target held fixed when another is varied, even if one was computed from another.

    When the gradient's graph is recorded (``create_graph``) the gradients travel as Tensors.
    On the first-order path they travel as bare arrays, and become Tensors only where they
    leave the walk (a leaf's ``.grad``, a target's gradient): a tensor per gradient would cost
    more than the arithmetic for small arrays (benchmark W5).

    Gradients arriving for one tensor from several uses are summed. The first sum is a new
    array that only this walk holds (``own``), as are the results of a rule with
    ``fresh_gradients``; later arrivals, and slices through ``add_gradient_into``, are added
    into such an array in place. Other arrays handed over by a backward rule are never written:
    one may be shared (``x + y`` gives the same gradient to both inputs)."""
    pending: dict = {}      # id of a tensor -> the sum of the gradients that reached it so far
    own: set[int] = set()   # ids of the tensors whose pending gradient this walk may write into
    for out, seed in zip(outputs, seeds):
        seed = seed if create_graph else seed.data
        pending[id(out)] = pending[id(out)] + seed if id(out) in pending else seed
    found = {}
    with _GradMode(create_graph):
        stop = targets if partial else frozenset()
        for node in reversed(_topological_order(outputs, stop)):
            grad = pending.pop(id(node), None)
            if grad is None:
                continue
            if targets is not None and id(node) in targets:
                found[id(node)] = grad if create_graph else node._make(grad, node.device)
                if partial:
                    continue
            fn = node.grad_fn
            if fn is None:   # a leaf: this gradient is final
                if targets is None:
                    node.grad = _accumulate(node, grad, id(node) in own, create_graph)
                continue
            if fn.released:
                raise RuntimeError(_FREED)
            if not retain_graph:
                fn.released = True
            if fn.add_gradient_into is not None and not create_graph:
                _add_slice_gradient(fn, grad, pending, own)
                continue
            fresh = fn.fresh_gradients and fn.backward_arrays is not None and not create_graph
            for parent, parent_grad in zip(fn.inputs, fn.input_gradients(grad, create_graph)):
                if parent_grad is None or not parent.requires_grad:
                    continue
                shape, dtype = parent.data.shape, parent.data.dtype
                if parent_grad.shape != shape:
                    parent_grad = sum_to(parent_grad, shape, f"{type(fn).__name__}.backward")
                if parent_grad.dtype != dtype:   # float32 x * float64 y: dL/dx is float32
                    parent_grad = parent_grad.astype(dtype)
                key = id(parent)
                if key in own:
                    pending[key] += parent_grad
                elif key in pending and fresh:    # the new arrival is ours: add into it
                    parent_grad += pending[key]
                    pending[key] = parent_grad
                    own.add(key)
                elif key in pending:
                    pending[key] = pending[key] + parent_grad
                    if not create_graph:
                        own.add(key)
                else:
                    pending[key] = parent_grad
                    if fresh:
                        own.add(key)
    return found


def _add_slice_gradient(fn: Function, grad, pending: dict, own: set) -> None:
    """Add a slice's gradient (an array: this is the first-order path) into the one buffer of
    the sliced tensor (made on first use, in the sliced array's memory order: when that is a
    view, say heads split off one projection, the gradient going back through the view is then
    a view too, not a copy)."""
    parent = fn.inputs[0]
    if not parent.requires_grad:
        return
    key = id(parent)
    if key not in own:
        pending[key] = (pending[key].copy(order="K") if key in pending
                        else parent.xp.zeros_like(parent.data))
        own.add(key)
    fn.add_gradient_into(pending[key], grad)


def _accumulate(leaf: Tensor, grad, grad_is_own: bool, create_graph: bool) -> Tensor:
    """A leaf's new ``.grad`` from the gradient the walk brings (an array on the first-order
    path, a Tensor when recorded): the sum, made out of place, so no earlier gradient is
    overwritten.

    The first gradient is copied into an array of the leaf's own, unless it is one the walk
    made (``grad_is_own``): the array that arrives may be shared (``x + y`` hands one gradient
    to both inputs) or a read-only broadcast view, and an optimizer may update ``.grad`` in
    place. With ``create_graph=True`` the gradient must stay connected to its graph, so it is
    kept as it is."""
    if create_graph:
        return grad if leaf.grad is None else leaf.grad + grad
    if leaf.grad is not None:
        return leaf._make(leaf.grad.data + grad, leaf.device)
    return leaf._make(grad if grad_is_own else leaf.xp.array(grad, copy=True), leaf.device)


def _is_tensor(obj) -> bool:
    return hasattr(obj, "grad_fn")


def _as_list(tensors) -> list:
    """One tensor or a sequence of them, as a list."""
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _seed(output: Tensor, gradient, op: str) -> Tensor:
    """dL/d(output) to start from: 1 for a scalar output, else the gradient the caller gives."""
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(f"{op}: the output has shape {output.shape}; a gradient can only be "
                               f"created implicitly for a scalar output, so pass one of that shape")
        return output._make(output.xp.ones_like(output.data), output.device)
    if not _is_tensor(gradient):
        gradient = output._make(output.xp.asarray(gradient, dtype=output.dtype), output.device)
    if gradient.shape != output.shape:
        raise ShapeError(f"{op}: gradient of shape {gradient.shape} given for an output of "
                         f"shape {output.shape}")
    return gradient.astype(output.dtype)


def backward(tensor: Tensor, gradient=None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Add d(tensor)/d(leaf) (times ``gradient`` for a non-scalar) to every leaf's ``.grad``.
    ``retain_graph`` (default: ``create_graph``) allows walking the same graph again later.

    **The one reference cycle.** With ``create_graph=True`` a leaf x keeps its gradient in
    ``x.grad``, and that gradient keeps its own graph, which reaches x again whenever the
    gradient depends on x (any non-linear use of x: for L = Σ x², x.grad = 2x is computed from
    x). So x -> x.grad -> its graph -> x is a cycle, which reference counting cannot free; Python's
    cycle collector frees it later, or ``x.grad = None`` breaks it at once. PyTorch has the same
    cycle and the same advice: to differentiate a gradient, prefer ``grad(..., create_graph=True)``,
    which returns the gradients without storing them on the leaves and so makes no cycle. Without
    ``create_graph`` (and for gradients that do not depend on x) there is none: the stored
    gradient is a plain array with no graph."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and was not computed "
                           "from one that does (set requires_grad=True on the inputs)")
    seed = _seed(tensor, gradient, "backward")
    retain_graph = create_graph if retain_graph is None else retain_graph
    _backpropagate([tensor], [seed if create_graph else seed.detach()], create_graph,
                   retain_graph=retain_graph)


def _gradient_of_composed(fn: Function, inputs: list, grad_output: Tensor) -> tuple:
    """``Function.backward``'s default: ∂(fn.composed)/∂(inputs) · grad_output.

    The composed form is always recorded, since it is differentiated right away; its gradient
    is recorded exactly when the walk that asks for it records (inside the walk, grad mode is
    ``create_graph``). These are partial derivatives: the walk stops at the inputs, because the
    paths behind them (the same weight used by an earlier layer) are the outer walk's to
    follow. An input the composed form does not use gets None, as from any backward."""
    record = _grad_enabled
    with _GradMode(True):
        output = fn.composed(*fn.inputs)
    if not output.requires_grad:
        return (None,) * len(inputs)
    seed = _seed(output, grad_output, "backward")
    found = _backpropagate([output], [seed if record else seed.detach()], record,
                           targets={id(t) for t in inputs}, retain_graph=record, partial=True)
    return tuple(found.get(id(tensor)) for tensor in inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    Like ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of them;
    ``grad_outputs`` holds dL/d(output) for non-scalar outputs. An input that does not affect the
    outputs is an error unless ``allow_unused=True``, in which case its gradient is None.
    ``retain_graph`` is as in ``backward``.
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    for i, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tensor.shape}) does not require grad")
    used = [(out, _seed(out, g, "grad")) for out, g in zip(outputs, grad_outputs)
            if out.requires_grad]
    seeds = [seed if create_graph else seed.detach() for _, seed in used]
    retain_graph = create_graph if retain_graph is None else retain_graph
    found = _backpropagate([out for out, _ in used], seeds, create_graph,
                           targets={id(tensor) for tensor in inputs}, retain_graph=retain_graph)
    grads = tuple(found.get(id(tensor)) for tensor in inputs)
    for i, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
    return grads
