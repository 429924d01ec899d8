"""``CNN``: LeNet-5, the classic convolutional network for small grey-scale images.

A convolution slides a small learned filter over the image, so the same weights look for the
same pattern (an edge, a stroke) everywhere; max pooling then keeps the strongest response in
each 2x2 window, halving the resolution and making the features tolerant to small shifts.
Two rounds of that turn pixels into a stack of feature maps, which three Linear layers classify:

    conv1  (C -> 6, 5x5, padding 2)  relu  maxpool 2
    conv2  (6 -> 16, 5x5)            relu  maxpool 2
    flatten  fc1 (-> 120)  relu  fc2 (120 -> 84)  relu  fc3 (84 -> num_classes)

A k x k convolution with padding p turns a side of length s into s + 2p - k + 1, and pooling by
2 halves it (rounding down). The shapes at each step, for the two sizes this model is used at:

    step                  28x28 (MNIST)        8x8 (scikit-learn digits)
    input                 (N, 1, 28, 28)       (N, 1, 8, 8)
    conv1 (pad 2), relu   (N, 6, 28, 28)       (N, 6, 8, 8)
    maxpool 2             (N, 6, 14, 14)       (N, 6, 4, 4)
    conv2, relu           (N, 16, 10, 10)      (N, 16, 4, 4)    pad 0 | pad 2
    maxpool 2             (N, 16, 5, 5)        (N, 16, 2, 2)
    flatten               (N, 400)             (N, 64)
    fc1, fc2, fc3         (N, 120) (N, 84) (N, num_classes)

``width`` multiplies every layer's channels and units (6w, 16w, 120w, 84w): ``CNN(width=2)``
is a LeNet-5 twice as wide, with 244,362 parameters at 28x28, about four times as many, which
the experiments use as a larger teacher for distillation (``train/distill.py``).

conv2 is unpadded (as in LeNet-5) when the pooled map is at least 6 pixels wide, so its 5x5
filter leaves at least 2x2 to pool; on smaller maps (the 4x4 map of an 8x8 image, where an
unpadded 5x5 filter does not even fit) it gets padding 2, which keeps the side unchanged.

Backward: the gradient of a convolution with respect to its input is a convolution of the
output gradient with the flipped filters, and with respect to the filters a correlation of the
input with the output gradient; max pooling sends each gradient to the element that won its
window. All of that lives in the layers (nn/conv.py, ops/conv.py, ops/pool.py); here the model
is just the composition.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .. import nn

KERNEL = 5   # LeNet-5's filters are 5x5


def conv2_padding(image_size: int) -> int:
    """0 (LeNet-5's valid convolution) when the map after the first pooling is >= 6 wide,
    else 2 ("same" for a 5x5 filter) so that small images still fit."""
    return 0 if image_size // 2 >= 6 else 2


def flattened_side(image_size: int) -> int:
    """The side of the last feature map: conv1 keeps the size, pool halves, conv2, pool halves."""
    after_conv2 = image_size // 2 + 2 * conv2_padding(image_size) - KERNEL + 1
    return after_conv2 // 2


class CNN(nn.Module):
    """LeNet-5 for (N, in_channels, image_size, image_size) images, ``width`` times as wide;
    see the module docstring for the shapes at each step (there for width 1). ``CNN()`` is the
    28x28 MNIST network with 61,706 parameters."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
                 width: int = 1):
        super().__init__()
        if image_size < 4:
            raise ValueError(f"CNN: image_size must be at least 4 (two 2x2 poolings), "
                             f"got {image_size}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"CNN: width must be a positive integer, got {width!r}")
        self.in_channels, self.num_classes, self.image_size = in_channels, num_classes, image_size
        self.width = width
        side = flattened_side(image_size)
        self.conv1 = nn.Conv2d(in_channels, 6 * width, KERNEL, padding=2)
        self.conv2 = nn.Conv2d(6 * width, 16 * width, KERNEL, padding=conv2_padding(image_size))
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * width * side * side, 120 * width)
        self.fc2 = nn.Linear(120 * width, 84 * width)
        self.fc3 = nn.Linear(84 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or x.shape[1:] != expected:
            raise ShapeError(f"CNN: expected images of shape (N, {', '.join(map(str, expected))}) "
                             f"(batch, channels, height, width), got {x.shape}")
        x = self.pool(self.conv1(x).relu())   # (N, 6, 14, 14)  | 8x8: (N, 6, 4, 4)
        x = self.pool(self.conv2(x).relu())   # (N, 16, 5, 5)   | 8x8: (N, 16, 2, 2)
        x = x.flatten(1)                      # (N, 400)        | 8x8: (N, 64)
        x = self.fc1(x).relu()                # (N, 120)
        x = self.fc2(x).relu()                # (N, 84)
        return self.fc3(x)                    # (N, num_classes)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        width = f", width={self.width}" if self.width > 1 else ""
        return (f"in_channels={self.in_channels}, num_classes={self.num_classes}, "
                f"image_size={self.image_size}{width}")
