"""Reference solutions of lesson 01, and one plausible wrong answer per exercise."""
from tinygrad_edu import Tensor


def exercise_sigmoid_neuron(x, w, b):
    x, w, b = (Tensor(value, requires_grad=True) for value in (x, w, b))
    (w * x + b).sigmoid().backward()
    return x.grad.item(), w.grad.item(), b.grad.item()


def wrong_sigmoid_neuron(x, w, b):
    """The tanh neuron's slope 1 - y² used for a sigmoid."""
    x, w, b = (Tensor(value) for value in (x, w, b))
    y = (w * x + b).sigmoid().item()
    slope = 1 - y ** 2
    return slope * w.item(), slope * x.item(), slope


def exercise_count_operations(y):
    seen, stack = set(), [y]
    while stack:
        node = stack.pop()
        if node.grad_fn is not None and id(node.grad_fn) not in seen:
            seen.add(id(node.grad_fn))
            stack.extend(node.grad_fn.inputs)
    return len(seen)


def wrong_count_operations(y):
    """Counts paths, not nodes: a shared tensor's operation is counted once per use."""
    count, stack = 0, [y]
    while stack:
        node = stack.pop()
        if node.grad_fn is not None:
            count += 1
            stack.extend(node.grad_fn.inputs)
    return count
