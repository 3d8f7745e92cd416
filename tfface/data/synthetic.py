"""Synthetic training data: random FaceParams rendered by tfface's own renderer."""

from __future__ import annotations

from typing import Dict

import numpy as np

from tfface.faces.align import align_face, mean_face_template
from tfface.layers.renderer import Renderer


def random_params(layout, count: int, rng: np.random.Generator) -> np.ndarray:
    """Plausible random FaceParams ``[count, P]`` (poses within +-30 degrees)."""
    params = layout.zeros(count)
    s = layout.slices
    params[:, s["identity"]] = rng.normal(size=(count, layout.identity))
    params[:, s["albedo"]] = rng.normal(size=(count, layout.albedo))
    params[:, s["expression"]] = rng.uniform(0, 0.8, (count, layout.expression)) * \
        (rng.uniform(size=(count, layout.expression)) < 0.3)
    light = np.zeros((count, 3, 9))
    light[:, :, 0] = rng.normal(scale=0.1, size=(count, 1))
    light[:, :, 1:4] = rng.normal(scale=0.2, size=(count, 1, 3))
    params[:, s["illumination"]] = light.reshape(count, -1)
    params[:, s["rotation"]] = rng.uniform(-1, 1, (count, 3)) * [0.25, 0.5, 0.15]
    params[:, s["translation"]] = rng.normal(size=(count, 3)) * [8.0, 8.0, 20.0]
    params[:, s["scale"]] = rng.normal(scale=0.05, size=(count, 1))
    return params.astype(np.float32)


def random_backgrounds(count: int, size, rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour gradients ``[count, H, W, 3]`` in 0..1."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    corners = rng.uniform(0.1, 0.9, (count, 3, 3))
    return (corners[:, 0, None, None] + corners[:, 1, None, None] * (xx[..., None] - 0.5)
            + corners[:, 2, None, None] * (yy[..., None] - 0.5)).clip(0, 1).astype(np.float32)


def render_synthetic(renderer: Renderer, count: int, seed: int = 0,
                     batch: int = 32, aligned: bool = False) -> Dict[str, np.ndarray]:
    """Render ``count`` random faces over random backgrounds.

    Returns a dict of numpy arrays: ``image [N, H, W, 3]`` float32 0..255,
    ``landmarks [N, 68, 2]`` pixels, ``params [N, P]``, ``vertices [N, V, 3]``
    (world space, model units). With ``aligned``, images and landmarks are
    then cropped like photos at inference (:func:`tfface.faces.align.align_face`);
    ``params`` and ``vertices`` stay those of the uncropped render.
    """
    rng = np.random.default_rng(seed)
    params = random_params(renderer.layout, count, rng)
    backgrounds = random_backgrounds(count, renderer.image_size, rng)
    images, landmarks, vertices = [], [], []
    for start in range(0, count, batch):
        out = renderer(params[start:start + batch], backgrounds[start:start + batch])
        images.append(np.clip(out["image"].numpy(), 0, 1) * 255.0)
        landmarks.append(out["landmarks2d"].numpy())
        vertices.append(out["vertices"].numpy())
    data = {"image": np.concatenate(images).astype(np.float32),
            "landmarks": np.concatenate(landmarks).astype(np.float32),
            "params": params, "vertices": np.concatenate(vertices).astype(np.float32)}
    if aligned:
        _align_in_place(data, mean_face_template(renderer))
    return data


def _align_in_place(data: Dict[str, np.ndarray], template: np.ndarray) -> None:
    """Crop every image as a photo is cropped at inference (scale + shift onto
    the mean-face template), so training sees what the encoder will see."""
    size = data["image"].shape[1]
    for i, (image, landmarks) in enumerate(zip(data["image"], data["landmarks"])):
        face = align_face(image, landmarks, size, template)
        data["image"][i], data["landmarks"][i] = face.crop, face.landmarks
