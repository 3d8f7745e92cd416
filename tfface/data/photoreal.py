"""Make synthetic renders look like photos: what a camera and the world add.

Everything here acts on rendered images ``[N, H, W, 3]`` (0..1) with their
face mask ``[N, H, W, 1]``, in numpy/OpenCV (data generation, not the
training graph): backgrounds (gradients, noise textures, other rendered
faces), skin texture, partial occluders, defocus blur, sensor noise and
JPEG artefacts. Each image draws its own settings from ``rng``.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_backgrounds(count: int, size, rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour gradients ``[count, H, W, 3]`` in 0..1."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    corners = rng.uniform(0.1, 0.9, (count, 3, 3))
    return (corners[:, 0, None, None] + corners[:, 1, None, None] * (xx[..., None] - 0.5)
            + corners[:, 2, None, None] * (yy[..., None] - 0.5)).clip(0, 1).astype(np.float32)


def noise_texture(size, rng: np.random.Generator, channels: int = 3) -> np.ndarray:
    """Smooth random texture ``[H, W, channels]`` in 0..1 at a random scale."""
    h, w = size
    cells = int(rng.integers(2, 13))
    coarse = rng.uniform(0, 1, (cells, cells, channels)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1).reshape(h, w, channels)


def photo_backgrounds(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One background per image ``[N, H, W, 3]``: a colour gradient, a noise
    texture or another image of ``faces`` (rolled and flipped), in thirds."""
    count, h, w = faces.shape[:3]
    out = random_backgrounds(count, (h, w), rng)
    for i in range(count):
        kind = rng.integers(3)
        if kind == 1:
            out[i] = 0.5 * out[i] + 0.5 * noise_texture((h, w), rng)
        elif kind == 2 and count > 1:
            other = faces[(i + 1 + rng.integers(count - 1)) % count]
            out[i] = np.roll(other[:, ::-1], rng.integers(-w // 2, w // 2), axis=1)
    return out


def photographic(images: np.ndarray, masks: np.ndarray, rng: np.random.Generator,
                 occluder_rate: float = 0.25) -> np.ndarray:
    """Renders ``[N, H, W, 3]`` (0..1, face only) -> photo-like uint8-valued
    float images (0..255): background, skin texture, occluders, blur,
    sensor noise and JPEG compression."""
    count, h, w = images.shape[:3]
    backgrounds = photo_backgrounds(images, rng)
    out = np.empty_like(images)
    for i in range(count):
        mask = masks[i]
        skin = 1.0 + 0.12 * (noise_texture((h, w), rng, 1) - 0.5)  # blotches, pores at low res
        image = images[i] * skin * mask + backgrounds[i] * (1 - mask)
        if rng.uniform() < occluder_rate:
            image = _occlude(image, mask, rng)
        sigma = rng.uniform(0, 1.5)
        if sigma > 0.3:
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        image = image + rng.normal(scale=rng.uniform(0, 0.03), size=image.shape)
        encoded = cv2.imencode(".jpg", (np.clip(image, 0, 1) * 255).astype(np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])[1]
        out[i] = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).reshape(h, w, 3)
    return out


def _occlude(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An ellipse of flat or textured colour over part of the face (a hand,
    hair, a microphone), at most about a fifth of the face area."""
    ys, xs = np.nonzero(mask[..., 0] > 0.5)
    if not len(xs):
        return image
    h, w = image.shape[:2]
    k = rng.integers(len(xs))
    extent = np.sqrt(len(xs)) * rng.uniform(0.15, 0.3)
    shape = np.zeros((h, w), np.float32)
    cv2.ellipse(shape, (int(xs[k]), int(ys[k])), (int(extent), int(extent * rng.uniform(0.4, 1.5))),
                float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    colour = rng.uniform(0, 1, 3) * (0.6 + 0.4 * noise_texture((h, w), rng, 1))
    return image * (1 - shape[..., None]) + colour * shape[..., None]
