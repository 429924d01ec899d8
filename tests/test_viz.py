"""``tg.viz``: the DOT text of a graph (operations, shapes, leaves, parameters, edges) and
rendering through Graphviz's ``dot`` (a clear error when it is missing)."""
import re
import shutil

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def _nodes(dot, shape=None):
    """{node name: label} of the node statements in ``dot`` (only boxes or ellipses if asked)."""
    found = re.findall(r'^\s*(\w+) \[shape=(\w+),.*label="((?:[^"\\]|\\.)*)"\];$', dot,
                       re.MULTILINE)
    return {name: label for name, kind, label in found if shape in (None, kind)}


def _edges(dot):
    return re.findall(r"^\s*(\w+) -> (\w+);$", dot, re.MULTILINE)


def _small_model_graph():
    weight = nn.Parameter(tg.randn(3, 2))
    bias = tg.zeros(2, requires_grad=True)
    x = tg.randn(4, 3)
    loss = (x @ weight + bias).relu().sum()
    return loss, weight, bias, x


def test_dot_lists_every_operation_and_tensor():
    loss, weight, bias, x = _small_model_graph()
    dot = tg.viz.to_dot(loss)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    nodes, edges = _nodes(dot), _edges(dot)
    assert sorted(_nodes(dot, "ellipse").values()) == ["Add", "MatMul", "ReLU", "Sum"]
    tensors = list(_nodes(dot, "box").values())
    assert len(tensors) == len(nodes) - 4 == 7   # x, weight, x@weight, bias, +, relu, sum
    assert sum("(4, 2) float32" in label for label in tensors) == 3
    assert len(edges) == 4 + 6   # op -> output, and input -> op for 2 + 2 + 1 + 1 inputs
    names = {label: name for name, label in nodes.items()}
    assert (names["MatMul"], names["Add"]) not in edges   # always through the tensor between
    assert any(src == names["MatMul"] for src, _ in edges)
    assert any(dst == names["MatMul"] for _, dst in edges)


def test_dot_marks_parameters_leaves_constants_and_the_output():
    loss, weight, bias, x = _small_model_graph()
    labels = list(_nodes(tg.viz.to_dot(loss)).values())
    assert any(label.startswith("parameter\\n(3, 2)") for label in labels)
    assert any(label.startswith("leaf\\n(2,)") for label in labels)
    assert any(label.startswith("constant\\n(4, 3)") for label in labels)
    assert any(label.startswith("output\\n()") for label in labels)


def test_dot_uses_given_names():
    model = nn.Linear(3, 2)
    out = model(tg.randn(5, 3)).sum()
    labels = list(_nodes(tg.viz.to_dot(out, names=dict(model.named_parameters()))).values())
    assert any(label.startswith("weight\\nparameter\\n(2, 3)") for label in labels)
    assert any(label.startswith("bias\\nparameter\\n(2,)") for label in labels)


def test_dot_of_a_reused_tensor_has_one_node_and_two_edges():
    a = tg.ones(2, requires_grad=True)
    b = a + a
    dot = tg.viz.to_dot(b * b)
    nodes, edges = _nodes(dot), _edges(dot)
    assert len(nodes) == 5   # a, Add, b, Mul, output
    a_node = next(name for name, label in nodes.items() if label.startswith("leaf"))
    assert sum(src == a_node for src, _ in edges) == 2


def test_dot_escapes_quotes_in_names():
    x = tg.ones(1, requires_grad=True)
    dot = tg.viz.to_dot(x * 2, names={'say "hi"': x})
    assert 'say \\"hi\\"' in dot


def test_dot_of_a_tensor_without_a_graph_and_of_a_deep_chain():
    dot = tg.viz.to_dot(tg.ones(2, 2))
    assert list(_nodes(dot).values()) == ["output\\n(2, 2) float32"] and _edges(dot) == []
    y = tg.Tensor(np.ones(1), requires_grad=True)
    for _ in range(5000):   # deeper than Python's recursion limit
        y = y * 1.0
    assert len(_edges(tg.viz.to_dot(y))) == 3 * 5000   # input, constant 1.0, output


def test_render_without_graphviz_names_the_program_and_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    loss = _small_model_graph()[0]
    with pytest.raises(RuntimeError, match=r"Graphviz's 'dot' program was not found.*apt-get "
                                           r"install graphviz.*brew install graphviz.*to_dot"):
        tg.viz.render(loss, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()


def test_render_needs_a_known_image_format(tmp_path):
    with pytest.raises(ValueError, match=r"graph\.txt.*\.svg, \.png, \.pdf"):
        tg.viz.render(tg.ones(1), tmp_path / "graph.txt")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix,magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_render_writes_an_image(suffix, magic, tmp_path):
    loss = _small_model_graph()[0]
    path = tg.viz.render(loss, tmp_path / ("graph" + suffix))
    content = open(path, "rb").read()
    assert magic in content[:400]
    if suffix == ".svg":
        assert b"MatMul" in content and b"parameter" in content
