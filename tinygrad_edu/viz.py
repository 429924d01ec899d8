"""Drawing the graph behind a tensor with Graphviz.

A tensor made by an operation remembers that operation (``grad_fn``), and the operation
remembers its input tensors. Following those links from a tensor back to the leaves is the same
walk that ``backward()`` does, and it visits the whole computation that produced the tensor.
:func:`to_dot` writes what it finds in DOT, the text format of Graphviz:

- one box per tensor, labelled with its name (when given), shape and dtype;
- one ellipse per operation, labelled with the ``Function`` class (``Mul``, ``MatMul``, ...);
- arrows in the direction the values flowed: input -> operation -> output.

Colours tell the kinds of tensors apart: parameters (``nn.Parameter``, what an optimizer
learns) are green, other leaves that require gradients are blue, constants (no gradient) are
grey, and the tensor you asked about is orange. Only tensors that require gradients remember
how they were made, so a tensor computed under ``no_grad`` is drawn on its own.

:func:`render` passes the DOT text to Graphviz's ``dot`` program, which lays the graph out and
writes an SVG, PNG or PDF file.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from .tensor import Tensor

FORMATS = ("svg", "png", "pdf")

_COLORS = {"output": "#fdd49e", "parameter": "#c7e9c0", "leaf": "#c6dbef",
           "constant": "#e0e0e0", "intermediate": "#ffffff"}


def _kind(tensor: Tensor, root: Tensor, parameter_class) -> str:
    """What role ``tensor`` plays in the graph (it picks the colour and the label)."""
    if tensor is root:
        return "output"
    if isinstance(tensor, parameter_class):
        return "parameter"
    if tensor.grad_fn is not None:
        return "intermediate"
    return "leaf" if tensor.requires_grad else "constant"


def _quote(text: str) -> str:
    """``text`` as a DOT string; a newline becomes DOT's ``\\n`` line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, names: dict | None = None) -> str:
    """The Graphviz DOT source of the graph that computed ``tensor``.

    ``names`` optionally maps names to tensors, e.g. ``dict(model.named_parameters())``, so that
    those tensors are labelled by name. Paste the text into any Graphviz viewer, or call
    :func:`render` to write an image.
    """
    from .nn import Parameter   # imported here: nn sits on a lower layer than viz

    label_of = {id(t): name for name, t in (names or {}).items()}
    node_names: dict[int, str] = {}   # id(tensor) -> "t0", "t1", ... in the order found
    lines = ["digraph tinygrad_edu {",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [arrowsize=0.7];']

    def tensor_node(t: Tensor) -> str:
        if id(t) not in node_names:
            node_names[id(t)] = f"t{len(node_names)}"
            kind = _kind(t, tensor, Parameter)
            text = f"{label_of[id(t)]}\n" if id(t) in label_of else ""
            text += "" if kind == "intermediate" else f"{kind}\n"
            text += f"{tuple(t.shape)} {t.dtype}"
            lines.append(f"  {node_names[id(t)]} [shape=box, style=filled, "
                         f"fillcolor={_quote(_COLORS[kind])}, label={_quote(text)}];")
        return node_names[id(t)]

    stack, visited = [tensor], {id(tensor)}   # an explicit stack: deep graphs need no recursion
    while stack:
        t = stack.pop()
        out_node = tensor_node(t)
        if t.grad_fn is None:
            continue
        op_node = "f" + out_node[1:]   # each tensor has at most one grad_fn: reuse its number
        lines.append(f"  {op_node} [shape=ellipse, label={_quote(type(t.grad_fn).__name__)}];")
        lines.append(f"  {op_node} -> {out_node};")
        for parent in t.grad_fn.inputs:
            lines.append(f"  {tensor_node(parent)} -> {op_node};")
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append(parent)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(tensor: Tensor, path, names: dict | None = None) -> str:
    """Draw the graph of ``tensor`` into ``path`` (an ``.svg``, ``.png`` or ``.pdf`` file) with
    Graphviz's ``dot`` program, and return the path. ``names`` is as in :func:`to_dot`."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"viz.render: cannot tell the image format from {path!r}; end the file "
                         f"name with one of {', '.join('.' + f for f in FORMATS)}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "viz.render: Graphviz's 'dot' program was not found on the PATH. Install Graphviz "
            "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; conda: "
            "conda install graphviz; Windows: https://graphviz.org/download/), or call "
            "viz.to_dot(tensor) and paste the text into any Graphviz viewer.")
    result = subprocess.run([dot, f"-T{fmt}", "-o", path], input=to_dot(tensor, names),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"viz.render: dot failed with exit code {result.returncode}: "
                           f"{result.stderr.strip()}")
    return path
