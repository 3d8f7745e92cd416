"""Synthetic training data: random FaceParams rendered by tfface's own renderer."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from tfface.data.photoreal import photographic, random_backgrounds
from tfface.faces.align import align_face, apply_transform
from tfface.layers.renderer import Renderer

DETECTOR_NOISE = 0.03
"""Landmark noise for placing photo-like crops, in outer-eye-corner distances
(a landmark detector's typical error on real photos is 3-5 %)."""


def random_params(layout, count: int, rng: np.random.Generator,
                  photo_like: bool = False) -> np.ndarray:
    """Plausible random FaceParams ``[count, P]``: poses within +-30 degrees
    of yaw, soft light; ``photo_like``: yaw to +-70 degrees, pitch +-25,
    roll +-20, and a hard side light on a third of the faces."""
    params = layout.zeros(count)
    s = layout.slices
    params[:, s["identity"]] = rng.normal(size=(count, layout.identity))
    params[:, s["albedo"]] = rng.normal(size=(count, layout.albedo))
    params[:, s["expression"]] = rng.uniform(0, 0.8, (count, layout.expression)) * \
        (rng.uniform(size=(count, layout.expression)) < 0.3)
    light = np.zeros((count, 3, 9))
    light[:, :, 0] = rng.normal(scale=0.1, size=(count, 1))
    light[:, :, 1:4] = rng.normal(scale=0.2, size=(count, 1, 3))
    pose = [0.25, 0.5, 0.15]
    if photo_like:
        hard = rng.uniform(size=count) < 1 / 3
        light[hard, :, 1:4] = rng.normal(scale=0.5, size=(hard.sum(), 1, 3))
        light[:, :, 0] += rng.normal(scale=0.05, size=(count, 3))  # tinted light
        pose = [0.44, 1.22, 0.35]
    params[:, s["illumination"]] = light.reshape(count, -1)
    params[:, s["rotation"]] = rng.uniform(-1, 1, (count, 3)) * pose
    params[:, s["translation"]] = rng.normal(size=(count, 3)) * [8.0, 8.0, 20.0]
    params[:, s["scale"]] = rng.normal(scale=0.05, size=(count, 1))
    return params.astype(np.float32)


def render_synthetic(renderer: Renderer, count: int, seed: int = 0, batch: int = 32,
                     template: Optional[np.ndarray] = None,
                     photo_like: bool = False) -> Dict[str, np.ndarray]:
    """Render ``count`` random faces over random backgrounds.

    Returns a dict of numpy arrays: ``image [N, H, W, 3]`` float32 0..255,
    ``landmarks [N, 68, 2]`` pixels, ``params [N, P]``, ``vertices [N, V, 3]``
    (world space, model units). With a ``template`` ``[68, 2]``
    (:func:`tfface.faces.align.mean_face_template` of the renderer's model
    and camera), images and landmarks are then cropped like photos at
    inference (:func:`tfface.faces.align.align_face`);
    ``params`` and ``vertices`` stay those of the uncropped render.
    ``photo_like``: wider poses and harder light (:func:`random_params`),
    photo backgrounds, texture, occluders, blur, noise and JPEG
    (:func:`tfface.data.photoreal.photographic`), and the crop aligned from
    landmarks with detector-like noise (:data:`DETECTOR_NOISE`).
    """
    rng = np.random.default_rng(seed)
    params = random_params(renderer.layout, count, rng, photo_like)
    backgrounds = random_backgrounds(count, renderer.image_size, rng)
    images, masks, landmarks, vertices = [], [], [], []
    for start in range(0, count, batch):
        out = renderer(params[start:start + batch])
        images.append(np.clip(out["image"].numpy(), 0, 1))
        masks.append(np.clip(out["mask"].numpy(), 0, 1))
        landmarks.append(out["landmarks2d"].numpy())
        vertices.append(out["vertices"].numpy())
    image, mask = np.concatenate(images), np.concatenate(masks)
    landmarks = np.concatenate(landmarks)
    if photo_like:
        image = photographic(image, mask, rng, landmarks)
    else:
        image = (image * mask + backgrounds * (1 - mask)) * 255.0
    data = {"image": image.astype(np.float32),
            "landmarks": landmarks.astype(np.float32),
            "params": params, "vertices": np.concatenate(vertices).astype(np.float32)}
    if template is not None:
        _align_in_place(data, template, rng, DETECTOR_NOISE if photo_like else 0.0)
    return data


def posed_params(layout, count: int, rng: np.random.Generator, degrees: Sequence[float],
                 identity_scale: float = 0.7) -> np.ndarray:
    """Params ``[count, P]`` of benchmark faces: :func:`random_params` with
    the identity at ``identity_scale`` of the model's spread and the rotation
    uniform within +-``degrees`` (pitch, yaw, roll)."""
    params = random_params(layout, count, rng)
    params[:, layout.slices["identity"]] *= identity_scale
    params[:, layout.slices["rotation"]] = rng.uniform(-1, 1, (count, 3)) * np.radians(degrees)
    return params


def photo_like_renders(renderer: Renderer, params: np.ndarray, rng: np.random.Generator,
                       batch: int = 32) -> Tuple[np.ndarray, np.ndarray]:
    """Faces of known ``params`` ``[N, P]`` for benchmarks: rendered and made
    photo-like (:func:`tfface.data.photoreal.photographic`, no occluders),
    uint8 RGB ``[N, H, W, 3]``, with the model's landmarks ``[N, 68, 2]``
    (pixels)."""
    images, landmarks = [], []
    for start in range(0, len(params), batch):
        out = renderer(params[start:start + batch])
        landmarks.append(out["landmarks2d"].numpy())
        images.append(photographic(np.clip(out["image"].numpy(), 0, 1),
                                   np.clip(out["mask"].numpy(), 0, 1), rng, landmarks[-1],
                                   occluder_rate=0.0).astype(np.uint8))
    return np.concatenate(images), np.concatenate(landmarks)


def _align_in_place(data: Dict[str, np.ndarray], template: np.ndarray,
                    rng: np.random.Generator, noise: float = 0.0) -> None:
    """Crop every image as a photo is cropped at inference (scale + shift onto
    the mean-face template), so training sees what the encoder will see. The
    crop is placed from landmarks with Gaussian noise of ``noise`` times the
    outer-eye-corner distance; the training targets stay the exact ones."""
    size = data["image"].shape[1]
    for i, (image, landmarks) in enumerate(zip(data["image"], data["landmarks"])):
        eyes = np.linalg.norm(landmarks[36] - landmarks[45])
        detected = landmarks + rng.normal(scale=noise * eyes, size=landmarks.shape)
        face = align_face(image, detected, size, template)
        data["image"][i] = face.crop
        data["landmarks"][i] = apply_transform(face.transform, landmarks)
