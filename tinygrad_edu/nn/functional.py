"""``tinygrad_edu.nn.functional`` (import it as ``F``): layers as plain functions.

This module gathers the functional forms defined next to their layers, so that
``F.relu``, ``F.conv2d``, ``F.cross_entropy`` are one import away, as in PyTorch.
"""
from .linear import linear
