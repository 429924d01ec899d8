"""Reference solution of lesson 05, and one plausible wrong answer."""
from tinygrad_edu import Function


class Swish(Function):
    """z = a·σ(a);   dz/da = σ(a) + a·σ(a)(1 - σ(a))."""

    def forward(self, a):
        return a / (1 + self.xp.exp(-a))

    def backward(self, grad):
        (a,) = self.inputs
        s = a.sigmoid()
        return grad * (s + a * s * (1 - s))


class SwishMissingTerm(Function):
    """The same forward, but backward keeps only the first term of the product rule."""

    def forward(self, a):
        return a / (1 + self.xp.exp(-a))

    def backward(self, grad):
        (a,) = self.inputs
        return grad * a.sigmoid()


def exercise_swish(x):
    return Swish.apply(x)


def wrong_swish(x):
    return SwishMissingTerm.apply(x)
