"""A toy detection task for fast detector tests: bright rotated bars on a dark noisy frame."""

import cv2
import numpy as np

from neocus.detect.augment import Sample
from neocus.geometry import rbox_to_corners


def toy_sample(rng: np.random.Generator, size: int = 96) -> Sample:
    img = rng.normal(30, 8, (size, size)).clip(0, 255).astype(np.uint8)
    boxes, labels = [], []
    for label in range(int(rng.integers(1, 3))):
        box = (rng.uniform(25, size - 25), rng.uniform(25, size - 25), rng.uniform(20, 40), rng.uniform(6, 14), rng.uniform(-90, 90))
        cv2.fillPoly(img, [rbox_to_corners(box).round().astype(np.int32)], 200 if label == 0 else 120)
        boxes.append(box)
        labels.append(label)
    return Sample(img, np.array(boxes, np.float32), np.array(labels, np.int64))


def toy_pool(n: int, seed: int = 0, size: int = 96) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [toy_sample(rng, size) for _ in range(n)]
