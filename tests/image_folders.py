"""Labeled (or unlabeled) folders of small PNGs, for the tests of folder datasets and of the
classifiers trained on them."""
import os

import numpy as np
from PIL import Image


def image_folder(root, per_class, classes=("dark", "light"), seed=0):
    """8x8 grayscale PNGs, dark or light by class (a class the classifier learns in an epoch);
    unlabeled (no subfolders) if `classes` is empty. The same pixels for the same arguments,
    whatever ran before. Returns the folder."""
    rng = np.random.default_rng(seed)
    for i, name in enumerate(classes or ("",)):
        os.makedirs(root / name, exist_ok=True)
        for k in range(per_class):
            pixels = rng.integers(0, 96, (8, 8)) + 150 * i
            Image.fromarray(pixels.astype(np.uint8), "L").save(root / name / f"{k}.png")
    return root
