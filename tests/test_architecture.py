"""The package's import graph is what its docstring promises: a line, with no cycles.

The module-level imports of every file in ``tinygrad_edu/`` are read from the source (with
``ast``; nothing is imported, so an import side effect cannot hide a cycle). Imports inside a
function, or under ``if TYPE_CHECKING:``, do not run when a module is loaded, so they do not count.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_edu"
ROOT = PACKAGE.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_statements(tree: ast.Module):
    """Statements that run when the module is loaded: the body, and the bodies of ``try``."""
    for node in tree.body:
        if isinstance(node, ast.Try):
            yield from node.body
            for handler in node.handlers:
                yield from handler.body
        else:
            yield node


def imported_modules(path: Path, modules: set) -> set:
    """The package modules that ``path`` imports at module level."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in top_level_statements(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:   # `from . import backend` imports the module backend
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def find_cycle(graph: dict) -> list | None:
    """One import cycle as a list of modules, or None (an iterative depth-first search)."""
    state = {}   # 1: on the current path, 2: finished
    for start in graph:
        if start in state:
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_the_module_level_imports_form_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_reader_sees_relative_and_package_imports(tmp_path):
    graph = import_graph()
    assert "tinygrad_edu.tensor" in graph["tinygrad_edu.tensor_methods"]
    assert "tinygrad_edu.backend" in graph["tinygrad_edu.autograd"]
    assert "tinygrad_edu.ops.elementwise" in graph["tinygrad_edu.tensor_methods"]


def test_the_core_comes_in_the_order_the_docstring_gives():
    """backend -> backprop -> autograd -> tensor -> ops -> tensor_methods: each imports none
    that follow."""
    graph = import_graph()
    docstring = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")))
    chain = docstring.split("Reading order", 1)[1].split("\n", 1)[1].split("\n\n")[0]
    order = re.findall(r"([a-z_]+)(?:\.py|/)", chain)
    assert order[:6] == ["backend", "backprop", "autograd", "tensor", "ops", "tensor_methods"]
    core = ["tinygrad_edu.backend", "tinygrad_edu.backprop", "tinygrad_edu.autograd",
            "tinygrad_edu.tensor"]
    ops = sorted(m for m in graph if m.startswith("tinygrad_edu.ops."))
    line = core + ops + ["tinygrad_edu.tensor_methods"]
    for i, module in enumerate(line):
        later = set(line[i + 1:]) - ({module} if module in ops else set())
        if module in ops:   # the ops may import each other (attention uses where), never a later layer
            later -= set(ops)
        assert not graph[module] & later, f"{module} imports {graph[module] & later}"
    assert "tinygrad_edu.tensor" not in graph["tinygrad_edu.autograd"] | graph["tinygrad_edu.backprop"]


@pytest.mark.parametrize("module", ["tinygrad_edu.backprop", "tinygrad_edu.autograd",
                                    "tinygrad_edu.tensor",
                                    "tinygrad_edu.ops.elementwise", "tinygrad_edu.nn.activation"])
def test_any_module_imports_first_in_a_fresh_interpreter(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_every_function_lives_in_ops():
    """Differentiable functions in ops/, modules in nn/: no Function subclass outside ops/."""
    outside = []
    for path in PACKAGE.rglob("*.py"):
        if "ops" in path.relative_to(PACKAGE).parts[:1] or path.name == "autograd.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", getattr(base, "attr", None)) == "Function"
                    for base in node.bases):
                outside.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert not outside, f"Function subclasses outside ops/: {outside}"


def test_no_backward_switches_on_the_grad_mode():
    """One mechanism for fast backward passes: ``Function.backward_arrays``, chosen by the walk.
    A ``backward`` that itself returns another result when ``is_grad_enabled()`` (the gradient's
    graph is recorded) would be a second one. Refusing that case with an error is allowed."""
    def asks_grad_mode(node):
        return any(getattr(n, "id", getattr(n, "attr", None)) == "is_grad_enabled"
                   for n in ast.walk(node))

    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("backward")):
                continue
            for branch in ast.walk(node):
                if isinstance(branch, ast.If) and asks_grad_mode(branch.test) and any(
                        isinstance(n, ast.Return) for n in ast.walk(ast.Module(branch.body, []))):
                    found.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert not found, f"backward rules with a second path under the grad mode: {found}"


def test_no_kernel_imports_a_private_name_of_another():
    private = []
    for path in (PACKAGE / "kernels").glob("*.py"):
        for node in top_level_statements(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                private += [f"{path.name}: {alias.name}" for alias in node.names
                            if alias.name.startswith("_")]
    assert not private, f"kernels importing private names: {private}"
