"""Optimizers and learning-rate schedules: how gradients become better parameters.

Read ``optimizer.py`` first (parameter groups, state, saving), then the update rules from the
simplest to the most elaborate: ``sgd.py`` -> ``adagrad.py`` -> ``rmsprop.py`` -> ``adam.py``;
then ``lr_scheduler.py``. Gradient clipping lives with the layers, in ``nn/utils.py``, as in
PyTorch. A training step with all of them::

    optimizer = optim.AdamW(model.parameters(), lr=3e-4)
    scheduler = optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=100, total_steps=5000)
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adagrad import Adagrad
from .rmsprop import RMSprop
from .adam import Adam, AdamW
from . import lr_scheduler
