"""Ordinary PyTorch scripts (tests/pytorch_scripts/) run unchanged on tinygrad_edu.

Each script is plain PyTorch: it imports ``torch``, ``torch.nn``, ``torch.utils.data``... and
asserts what it computes. It runs twice: on tinygrad_edu, through an import hook that resolves
every ``torch...`` module to the ``tinygrad_edu...`` module of the same path and changes nothing
else; and on PyTorch itself, which shows that each script is valid PyTorch.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import pathlib
import runpy
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parent / "pytorch_scripts"

class TorchAsTinygradEdu(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A meta-path finder: ``import torch.x.y`` gives the module ``tinygrad_edu.x.y``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        self.module = importlib.import_module("tinygrad_edu" + spec.name[len("torch"):])
        self.own_spec = self.module.__spec__
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.own_spec   # the import system set the alias's spec; put it back


@contextlib.contextmanager
def torch_resolves_to_tinygrad_edu():
    """Install the hook, with any real ``torch`` modules set aside, and undo both afterwards."""
    saved = {name: sys.modules.pop(name) for name in list(sys.modules)
             if name == "torch" or name.startswith("torch.")}
    finder = TorchAsTinygradEdu()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
            del sys.modules[name]
        sys.modules.update(saved)


SCRIPT_PARAMS = [pytest.param(path, id=path.stem) for path in sorted(SCRIPTS.glob("*.py"))]


@pytest.mark.parametrize("script", SCRIPT_PARAMS)
def test_script_runs_on_tinygrad_edu(script, capsys):
    with torch_resolves_to_tinygrad_edu():
        runpy.run_path(str(script), run_name="__main__")
    assert f"{script.stem}: ok" in capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPT_PARAMS)
def test_script_is_valid_pytorch(script, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny models: more threads only fight over the cores
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    assert f"{script.stem}: ok" in capsys.readouterr().out


def test_the_hook_maps_module_paths_and_nothing_else():
    with torch_resolves_to_tinygrad_edu():
        import torch
        import torch.nn.functional as F
        import tinygrad_edu
        assert torch is tinygrad_edu and F is tinygrad_edu.nn.functional
        assert torch.nn.Linear is tinygrad_edu.nn.Linear
        with pytest.raises(ImportError):
            importlib.import_module("torch.no_such_module")
    assert tinygrad_edu.__spec__.name == "tinygrad_edu"
