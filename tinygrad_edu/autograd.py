"""Reverse-mode automatic differentiation: ``Function``, the backward walk, ``grad``, ``no_grad``.

The whole idea in four lines. A forward computation is a graph: every tensor made by an operation
remembers that operation (its ``grad_fn``), and the operation remembers its input tensors. For a
scalar loss L and a tensor y = f(x1, ..., xn) inside that graph, the chain rule says

    dL/dxi = dL/dy · dy/dxi        (summed over every y that uses xi)

so we visit the graph from L back to the leaves, in *reverse topological order* (every consumer of
a tensor before the tensor itself), and hand each operation the gradient of its output, ``grad``;
its ``backward`` returns the gradients of its inputs. A tensor used twice receives the sum.

Three choices keep this engine small and honest:

- ``backward`` is written with Tensor operations, not raw arrays. Normally it runs under
  ``no_grad`` and records nothing; with ``create_graph=True`` it is recorded like any forward
  computation, so the gradient is itself differentiable (second derivatives for free). The
  operations that make up most of a training step add a first-order ``backward_arrays`` for
  speed, which the walk takes whenever the gradient's graph is not recorded (one hook,
  ``Function.input_gradients``).
- Broadcasting is undone in exactly one place, ``sum_to``, applied to every input gradient.
- The graph points backwards only (output -> function -> inputs). An operation that needs its own
  output in ``backward`` holds it by weak reference, so a finished graph has no reference cycles
  and is freed by reference counting alone. (The one exception is documented in
  ``backward``: ``create_graph=True`` stores a gradient whose graph may lead back to its leaf.)

Two files, two concepts: ``backprop.py`` is the walk (with ``sum_to``, ``grad``, ``backward``
and the gradient mode), this one is ``Function``, what an operation is; the walk's names are
importable from here too (``tg.autograd.grad``, as ``torch.autograd.grad``). Both come before
``tensor.py`` and do not import it. They need only what every tensor has, ``.data``,
``.device``, ``.grad``, ``.grad_fn``, ``.requires_grad`` and the constructor
``tensor._make(array, device)``, so they work on the tensors they are handed (minitorch's
layering); ``tensor.py`` then builds ``Tensor`` on top of them.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from . import backprop
from .backend import array_module
# the backward walk and the gradient mode, defined in backprop.py, are part of this module's API
from .backprop import (DeviceError, ShapeError, _gradient_of_composed, backward,  # noqa: F401
                       enable_grad, grad, is_grad_enabled, no_grad, sum_to)

if TYPE_CHECKING:   # for the annotations only: the core never imports Tensor at run time
    from .tensor import Tensor


# ----------------------------------------------------------------------------- Function

class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` in Tensor operations.

    A subclass writes two methods:

    - ``forward(self, *arrays, **params)`` computes the output array. ``self.xp`` is the array
      module (NumPy or CuPy) of the inputs' device. Positional arguments are the input arrays,
      keyword arguments are plain settings (an axis, a shape).
    - ``backward(self, grad)`` gets dL/d(output) as a Tensor and returns one gradient Tensor (or
      None) per input. The inputs are ``self.inputs``; classes with ``saves_output = True`` can
      read their output as ``self.output``.

    **The fast path: a backward on arrays.** Written in Tensor operations, a backward rule is
    recorded when the graph of the gradient is (``create_graph=True``), which is what makes it
    differentiable. For the operations that make up most of a training step (convolution,
    attention, the LSTM layer, normalization, the linear layer, the loss, the everyday
    elementwise operations) that costs too much on every ordinary step, so they also write

    - ``backward_arrays(self, grad)``: the same gradients computed on arrays, dL/d(output) as
      an array in, one array (or None) per input out. It is first-order: nothing is recorded.

    The backward walk calls ``backward_arrays`` when it exists and the gradient's graph is not
    recorded, and ``backward`` otherwise; both must give the same numbers (the tests check
    them against each other). An operation whose Tensor version is simply "differentiate the
    same computation written with Tensor operations" defines ``composed(self, *inputs)``, that
    computation, and gets ``backward`` for free: the default ``backward`` differentiates it.

    **Fresh gradients.** A class whose ``backward_arrays`` returns arrays made for that call
    alone (no view of ``grad``, no array returned for two inputs) sets ``fresh_gradients =
    True``: the backward walk may then add later arrivals into them in place and hand them to a
    leaf as its ``.grad`` without a copy.

    **Slices add into one buffer.** An operation that reads part of its one input (indexing)
    may also write ``add_gradient_into(self, total, grad)``: add dL/d(input) for dL/d(output) =
    ``grad`` into the array ``total`` of the input's shape, in place. On the first-order path
    the backward walk then keeps one zero-initialised buffer per sliced tensor and lets every
    slice add its part (q, k and v cut from one projection: one buffer, not three arrays of
    the whole shape that are summed afterwards).

    ``Function.apply(*tensors, **params)`` runs forward and links the result into the graph.
    """

    saves_output = False   # set True when backward needs the output (exp, tanh, softmax...)
    backward_arrays = None  # optionally: a first-order backward on arrays (see above)
    released = False        # set by a backward walk without retain_graph
    add_gradient_into = None  # optionally: a slice's gradient added in place (see above)
    fresh_gradients = False   # True: backward_arrays returns new, unshared arrays (see above)
    inputs: tuple
    _output_ref = None

    @staticmethod
    def check_devices(name: str, inputs) -> str:
        """The one device all ``inputs`` are on; mixing devices is an error naming both."""
        device = inputs[0].device
        for tensor in inputs:
            if tensor.device != device:
                raise DeviceError(f"{name}: tensors are on different devices, {device!r} and "
                                  f"{tensor.device!r}; move one with .to()")
        return device

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        """Run ``forward`` and, if any input requires grad (and grad mode is on), link the
        output into the graph: output -> function -> inputs, never back (see ``output``)."""
        device, requires_grad = inputs[0].device, False
        for tensor in inputs:   # one pass: do all live on one device, and does any need a gradient?
            if tensor.device != device:
                cls.check_devices(cls.__name__, inputs)   # raises a DeviceError naming both
            requires_grad = requires_grad or tensor.requires_grad
        fn = cls()
        fn.xp = array_module(device)
        try:
            data = fn.forward(*[tensor.data for tensor in inputs], **params)
        except ShapeError:
            raise
        except ValueError as error:   # NumPy's broadcasting and reshape errors, named after the op
            shapes = " and ".join(str(tensor.shape) for tensor in inputs)
            raise ShapeError(f"{cls.__name__}: {error} (input shapes {shapes})") from error
        out = inputs[0]._make(data, device)
        if requires_grad and backprop._grad_enabled:   # the gradient mode
            out.requires_grad = True
            fn.inputs = inputs
            out.grad_fn = fn
            if cls.saves_output:
                fn._output_ref = weakref.ref(out)
        return out

    @property
    def output(self) -> Tensor:
        """The tensor this call produced (alive whenever its backward runs)."""
        return self._output_ref()

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad: Tensor):
        """dL/d(inputs) in Tensor operations. By default the gradient of ``composed``."""
        if type(self).composed is Function.composed:
            raise NotImplementedError(f"{type(self).__name__} defines neither backward nor "
                                      f"composed")
        wanted = [tensor for tensor in self.inputs if tensor.requires_grad]
        found = iter(_gradient_of_composed(self, wanted, grad))
        return tuple(next(found) if tensor.requires_grad else None for tensor in self.inputs)

    def composed(self, *inputs: Tensor) -> Tensor:
        """The same output as ``forward``, computed from the input Tensors with Tensor
        operations (optional; it defines the default ``backward``)."""
        raise NotImplementedError

    def input_gradients(self, grad, create_graph: bool) -> tuple:
        """The gradients of the inputs, one per input (or None), for dL/d(output) ``grad``.
        When the gradient's graph is recorded, ``grad`` and the results are Tensors, from
        ``backward``. On the first-order path they are arrays: from ``backward_arrays`` when
        the class has one, otherwise from ``backward`` on ``grad`` wrapped as a Tensor."""
        if create_graph:
            grads = self.backward(grad)
            return grads if isinstance(grads, (tuple, list)) else (grads,)
        if self.backward_arrays is not None:
            grads = self.backward_arrays(grad)
            return grads if isinstance(grads, (tuple, list)) else (grads,)
        first = self.inputs[0]
        grads = self.backward(first._make(grad, first.device))
        grads = grads if isinstance(grads, (tuple, list)) else (grads,)
        return tuple(None if g is None else g.data for g in grads)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
