"""Ultrasound-safe augmentation for detector training, boxes moved with the pixels.

Every step keeps what an ultrasound image can look like: overall gain and a depth (TGC) ramp,
multiplicative speckle, blur, gamma, a small rotation with crop / zoom (a similarity transform, so a
rotated box stays an exact rotated box), a changed sector shape (the fan's edges and depth), burned-in
text, plus Mosaic (four frames in a 2x2 grid) and Mixup (two frames blended). Nothing flips the image:
left and right structures share a class, but a flip would mirror the screen convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neocus.geometry.rotated import normalize_rbox


@dataclass(frozen=True)
class Sample:
    """One training frame: uint8 ``[H, W]``, boxes ``[N, 5]`` (pixels, degrees), class indices ``[N]``."""

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray


def _normalised(boxes: np.ndarray) -> np.ndarray:
    return np.array([normalize_rbox(*b) for b in boxes], dtype=np.float32).reshape(-1, 5)


def warp_similarity(sample: Sample, matrix: np.ndarray, shape_hw: tuple[int, int]) -> Sample:
    """Apply a 2x3 similarity transform (rotation + uniform scale + shift) to the image and its boxes."""
    img = cv2.warpAffine(sample.image, matrix, (shape_hw[1], shape_hw[0]), flags=cv2.INTER_LINEAR, borderValue=0)
    if len(sample.boxes) == 0:
        return Sample(img, sample.boxes, sample.labels)
    b = sample.boxes.astype(np.float64)
    centres = b[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    t = np.deg2rad(b[:, 4])
    d = np.stack([np.cos(t), np.sin(t)], 1) @ matrix[:, :2].T
    angle = np.rad2deg(np.arctan2(d[:, 1], d[:, 0]))
    out = np.column_stack([centres, b[:, 2] * scale, b[:, 3] * scale, angle])
    h, w = shape_hw
    keep = (out[:, 0] >= 0) & (out[:, 0] < w) & (out[:, 1] >= 0) & (out[:, 1] < h)
    return Sample(img, _normalised(out[keep]), sample.labels[keep])


def random_affine(sample: Sample, *, max_rot_deg: float = 12.0, zoom: tuple[float, float] = (0.8, 1.25), shift: float = 0.1,
                  rng: np.random.Generator) -> Sample:
    h, w = sample.image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-max_rot_deg, max_rot_deg)), float(rng.uniform(*zoom)))
    m[:, 2] += rng.uniform(-shift, shift, 2) * np.array([w, h])
    return warp_similarity(sample, m, (h, w))


def intensity(image: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Gain, depth ramp (TGC), speckle, blur and gamma on a uint8 frame."""
    img = image.astype(np.float32) / 255.0
    h, w = img.shape
    depth = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    tgc = 1 + rng.uniform(-0.35, 0.35) * depth + rng.uniform(-0.2, 0.2) * np.sin(np.pi * depth * rng.uniform(0.5, 2))
    img = img * rng.uniform(0.7, 1.35) * tgc
    if rng.random() < 0.5:
        k = float(rng.uniform(0.05, 0.3))
        img = img * rng.rayleigh(1.0, img.shape).astype(np.float32) ** k / 1.25**k
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.6)))
    img = np.clip(img, 0, 1) ** rng.uniform(0.7, 1.4)
    return np.clip(img * 255 + rng.normal(0, rng.uniform(0, 4), img.shape), 0, 255).astype(np.uint8)


def sector_mask(sample: Sample, *, rng: np.random.Generator) -> Sample:
    """Blank the image outside a random fan (apex above the top edge, random opening and depth)."""
    h, w = sample.image.shape
    apex = np.array([w / 2 + rng.uniform(-0.1, 0.1) * w, -rng.uniform(0.05, 0.6) * h])
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.degrees(np.arctan2(xx - apex[0], yy - apex[1]))
    r = np.hypot(xx - apex[0], yy - apex[1])
    half = rng.uniform(30, 75)
    depth = rng.uniform(0.85, 1.3) * (h - apex[1])
    mask = (np.abs(ang) <= half) & (r <= depth)
    keep = mask[np.clip(sample.boxes[:, 1].astype(int), 0, h - 1), np.clip(sample.boxes[:, 0].astype(int), 0, w - 1)] if len(sample.boxes) else np.zeros(0, bool)
    return Sample(sample.image * mask.astype(np.uint8), sample.boxes[keep], sample.labels[keep])


_TEXT = ["GE", "9L", "ABDO", "Gn 48", "D 6.0cm", "FR 27", "THI", "MI 0.9", "TIS 0.3", "LOGIQ", "CUS", "Neo Head", "12.4MHz"]


def burned_in_text(image: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    img = image.copy()
    h, w = img.shape
    for _ in range(int(rng.integers(1, 6))):
        text = str(rng.choice(_TEXT))
        org = (int(rng.uniform(0, 0.8) * w), int(rng.choice([rng.uniform(0.03, 0.15), rng.uniform(0.85, 0.98)]) * h))
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.25, 0.6)) * max(h, w) / 320,
                    int(rng.integers(150, 256)), 1, cv2.LINE_AA)
    return img


def mosaic(samples: list[Sample], shape_hw: tuple[int, int]) -> Sample:
    """Four samples, each scaled to half size, in a 2x2 grid."""
    h, w = shape_hw
    img = np.zeros((h, w), np.uint8)
    boxes, labels = [], []
    for k, s in enumerate(samples[:4]):
        sh, sw = s.image.shape
        scale = min((h / 2) / sh, (w / 2) / sw)
        m = np.array([[scale, 0, (k % 2) * w / 2], [0, scale, (k // 2) * h / 2]], dtype=np.float64)
        part = warp_similarity(s, m, shape_hw)
        img = np.maximum(img, part.image)
        boxes.append(part.boxes)
        labels.append(part.labels)
    return Sample(img, np.concatenate(boxes).reshape(-1, 5).astype(np.float32), np.concatenate(labels).astype(np.int64))


def mixup(a: Sample, b: Sample, *, rng: np.random.Generator) -> Sample:
    """Blend two same-size samples; both sets of boxes stay."""
    lam = float(rng.beta(8.0, 8.0))
    img = np.clip(a.image.astype(np.float32) * lam + b.image.astype(np.float32) * (1 - lam), 0, 255).astype(np.uint8)
    return Sample(img, np.concatenate([a.boxes, b.boxes]).reshape(-1, 5), np.concatenate([a.labels, b.labels]))


def augment(sample: Sample, *, rng: np.random.Generator) -> Sample:
    """The single-frame chain: geometry, sector shape, intensity, burned-in text."""
    s = random_affine(sample, rng=rng) if rng.random() < 0.8 else sample
    if rng.random() < 0.3:
        s = sector_mask(s, rng=rng)
    img = intensity(s.image, rng=rng)
    if rng.random() < 0.3:
        img = burned_in_text(img, rng=rng)
    return Sample(img, s.boxes, s.labels)
