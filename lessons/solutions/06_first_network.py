"""Reference solutions of lesson 06, and one plausible wrong answer per exercise."""
from tinygrad_edu.nn import functional as F


def exercise_train_step(model, optimizer, x, y):
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def wrong_train_step(model, optimizer, x, y):
    """Forgets zero_grad: every step adds its gradient to all the previous ones."""
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def exercise_accuracy(logits, labels):
    return float((logits.argmax(axis=1) == labels).mean())


def wrong_accuracy(logits, labels):
    """The arg-max of the whole flattened array (no axis): one index for every row."""
    return float((logits.argmax() == labels).mean())
