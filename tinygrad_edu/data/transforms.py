"""Image transforms: preprocessing and random augmentation, on NumPy arrays.

An image is an array ``(C, H, W)`` (channels, height, width), floating point. Every transform
here accepts either one image ``(C, H, W)`` or a whole batch ``(N, C, H, W)`` and returns the
same shape, so the DataLoader can transform a batch in one vectorized step (``batched = True``).
Transforms touch images only; labels pass through untouched (the dataset applies them to its
inputs alone).

Preprocessing
    ToFloat      integers to float32, scaled:  x / 255 for uint8 pixels
    Normalize    per channel:  x' = (x - mean[c]) / std[c], so inputs are centred with unit spread

Augmentation: each draws one random choice *per image*, so the network sees a slightly different
version of each training image every epoch and cannot just memorise pixels.
    RandomHorizontalFlip   mirror left-right with probability p:   x'[..., j] = x[..., W-1-j]
    RandomCrop             pad each side with zeros, then cut a random size x size window
    RandomRotation         rotate by an angle drawn uniformly from [-degrees, degrees]

Rotation maps every *output* pixel back to where it came from (an inverse map), so no output
pixel is left empty. With the centre ``(cy, cx) = ((H-1)/2, (W-1)/2)`` and "up" positive
(``u = x - cx``, ``v = cy - y``), turning the picture counter-clockwise by θ means the pixel at
``(u, v)`` samples the input at the point rotated by -θ:

    u_src =  cos θ · u + sin θ · v          v_src = -sin θ · u + cos θ · v

That point usually falls between pixel centres, so its value is read by *bilinear
interpolation*: the four surrounding pixels, each weighted by how close it is
(``(1-wy)(1-wx), (1-wy)wx, wy(1-wx), wy·wx`` with ``wx, wy`` the fractional parts). Points outside
the image read ``fill``.

Randomness: each random transform takes ``generator`` (see ``make_generator``): an int seed or a
``numpy.random.Generator`` makes the augmentation reproducible.
"""
from __future__ import annotations

import numpy as np

from .dataset import make_generator


def _as_batch(images, name: str) -> tuple[np.ndarray, tuple]:
    """``images`` reshaped to ``(N, C, H, W)``, and the shape to restore afterwards."""
    images = np.asarray(images)
    if images.ndim < 3:
        raise ValueError(f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), "
                         f"got shape {images.shape}")
    return images.reshape(-1, *images.shape[-3:]), images.shape


def _pair(size, name: str) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"{name}: sizes must be positive, got {size}")
    return int(height), int(width)


class Compose:
    """Apply several transforms one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        self.batched = all(getattr(t, "batched", False) for t in self.transforms)

    def __call__(self, images):
        for transform in self.transforms:
            images = transform(images)
        return images

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToFloat:
    """``images`` as float32 times ``scale`` (default: 1/255 for uint8 pixels, else 1)."""

    batched = True

    def __init__(self, scale: float | None = None):
        self.scale = scale

    def __call__(self, images):
        images = np.asarray(images)
        scale = self.scale if self.scale is not None else (
            1.0 / 255.0 if images.dtype == np.uint8 else 1.0)
        return images.astype(np.float32) * np.float32(scale)

    def __repr__(self) -> str:
        return f"ToFloat(scale={self.scale})"


class Normalize:
    """``(x - mean[c]) / std[c]`` for each channel c; mean, std: one number or one per channel."""

    batched = True

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def __call__(self, images):
        batch, shape = _as_batch(images, "Normalize")
        channels = batch.shape[1]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(f"Normalize: {len(values)} {name} values for images with "
                                 f"{channels} channels")
        dtype = batch.dtype if batch.dtype.kind == "f" else np.float32
        mean = self.mean.astype(dtype).reshape(-1, 1, 1)   # (C, 1, 1)
        std = self.std.astype(dtype).reshape(-1, 1, 1)     # (C, 1, 1)
        return ((batch - mean) / std).reshape(shape)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``."""

    batched = True

    def __init__(self, p: float = 0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator if generator is None else make_generator(generator)

    def __call__(self, images):
        batch, shape = _as_batch(images, "RandomHorizontalFlip")
        flip = make_generator(self.generator).random(len(batch)) < self.p   # (N,)
        out = batch.copy()
        out[flip] = batch[flip][..., ::-1]
        return out.reshape(shape)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad each side by ``padding`` pixels of ``fill``, then cut a random ``size`` window."""

    batched = True

    def __init__(self, size, padding: int = 0, fill: float = 0.0, generator=None):
        self.size = _pair(size, "RandomCrop")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding, self.fill = int(padding), fill
        self.generator = generator if generator is None else make_generator(generator)

    def __call__(self, images):
        batch, shape = _as_batch(images, "RandomCrop")
        n, channels = batch.shape[:2]
        p, (height, width) = self.padding, self.size
        padded = np.pad(batch, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        padded_height, padded_width = padded.shape[2:]
        if height > padded_height or width > padded_width:
            raise ValueError(f"RandomCrop: a {height}x{width} crop does not fit in images of "
                             f"{shape[-2]}x{shape[-1]} padded by {p}")
        rng = make_generator(self.generator)
        top = rng.integers(0, padded_height - height + 1, size=n)   # (N,)
        left = rng.integers(0, padded_width - width + 1, size=n)    # (N,)
        rows = top[:, None] + np.arange(height)                     # (N, h)
        cols = left[:, None] + np.arange(width)                     # (N, w)
        out = padded[np.arange(n)[:, None, None, None], np.arange(channels)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]   # (N, C, h, w)
        return out.reshape(*shape[:-2], height, width)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def rotate(images, degrees, fill: float = 0.0) -> np.ndarray:
    """Rotate images counter-clockwise by ``degrees`` about their centre (bilinear sampling).

    ``images`` is ``(C, H, W)`` or ``(N, C, H, W)``; ``degrees`` is one angle or one per image.
    """
    batch, shape = _as_batch(images, "rotate")
    n, channels, height, width = batch.shape
    dtype = batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)   # math in this dtype
    real = dtype.type
    angles = np.broadcast_to(np.asarray(degrees, dtype=np.float64), shape[:-3]).reshape(-1)
    theta = np.deg2rad(angles)[:, None, None]                      # (N, 1, 1)
    cos, sin = np.cos(theta).astype(dtype), np.sin(theta).astype(dtype)
    center_y, center_x = (height - 1) / 2.0, (width - 1) / 2.0
    y, x = np.meshgrid(np.arange(height, dtype=dtype), np.arange(width, dtype=dtype), indexing="ij")
    u, v = x - real(center_x), real(center_y) - y                 # (H, W); "up" is positive v
    source_x = real(center_x) + (cos * u + sin * v)                # (N, H, W) array coordinates
    source_y = real(center_y) - (-sin * u + cos * v)               # (N, H, W)
    left, top = np.floor(source_x), np.floor(source_y)            # the pixel up and to the left
    wx, wy = source_x - left, source_y - top                       # (N, H, W) in [0, 1)
    x0, y0 = left.astype(np.int64), top.astype(np.int64)
    pixels = batch.reshape(n, channels, height * width)            # (N, C, H*W)
    out = np.zeros((n, channels, height * width), dtype=dtype)
    weight_inside = np.zeros((n, height, width), dtype=dtype)      # how much came from the image
    for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                           (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        row, col = y0 + dy, x0 + dx
        inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)   # (N, H, W)
        weight = np.where(inside, weight, real(0))
        weight_inside += weight
        flat = (row.clip(0, height - 1) * width + col.clip(0, width - 1)).reshape(n, 1, -1)
        out += weight.reshape(n, 1, -1) * np.take_along_axis(pixels, flat, axis=2)   # (N, C, H*W)
    if fill != 0:
        out += (fill * (1 - weight_inside)).reshape(n, 1, -1)     # the missing weight reads fill
    return out.reshape(shape[:-3] + (channels, height, width)).astype(dtype, copy=False)


class RandomRotation:
    """Rotate each image by an angle drawn uniformly from ``[-degrees, degrees]`` (or a range)."""

    batched = True

    def __init__(self, degrees, fill: float = 0.0, generator=None):
        low, high = (-degrees, degrees) if np.isscalar(degrees) else tuple(degrees)
        if low > high:
            raise ValueError(f"RandomRotation: the angle range must have low <= high, "
                             f"got {degrees}")
        self.degrees, self.fill = (float(low), float(high)), fill
        self.generator = generator if generator is None else make_generator(generator)

    def __call__(self, images):
        batch, shape = _as_batch(images, "RandomRotation")
        angles = make_generator(self.generator).uniform(*self.degrees, size=len(batch))   # (N,)
        return rotate(batch, angles, self.fill).reshape(shape)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees})"
