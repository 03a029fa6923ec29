"""Sample grids: generated images in [-1, 1] -> one uint8 picture -> PNG on disk."""
import math
import os

import numpy as np
from PIL import Image


def to_uint8(images):
    """[..., C] floats in [-1, 1] -> uint8 in [0, 255]."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, rows=None, pad=2):
    """[N, H, W, C] images in [-1, 1] -> one uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C] grid.

    Rows default to a near-square layout; padding is black.
    """
    images = to_uint8(images)
    n, h, w, c = images.shape
    rows = rows or max(1, int(math.floor(math.sqrt(n))))
    cols = math.ceil(n / rows)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        out[top:top + h, left:left + w] = image
    return out


def save_png(path, picture, scale=1):
    """Writes a uint8 [H, W, C] picture as PNG, via a temporary file so a reader never sees half
    of one. `scale` enlarges it (nearest neighbour) so small images are readable."""
    picture = picture[..., 0] if picture.shape[-1] == 1 else picture
    image = Image.fromarray(picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    tmp = f"{path}.tmp"
    image.save(tmp, format="PNG")
    os.replace(tmp, path)
