"""A folder of photos with iBUG ``.pts`` files -> aligned crops + landmarks."""

from __future__ import annotations

import glob
import os
from typing import Dict, Tuple

import cv2
import numpy as np

from tfface.errors import TfFaceError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".webp")


def read_pts(path: str) -> np.ndarray:
    """iBUG ``.pts`` -> ``[68, 2]`` pixel coordinates."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        body = text[text.index("{") + 1:text.index("}")]
        points = np.array([[float(v) for v in line.split()] for line in body.strip().splitlines()])
    except (OSError, ValueError) as error:
        raise TfFaceError(f"{path}: not a readable iBUG .pts file ({error})") from None
    if points.shape != (68, 2):
        raise TfFaceError(f"{path}: {points.shape[0]} points, expected 68")
    return points


def crop_transform(landmarks: np.ndarray, size: int, margin: float = 1.6) -> np.ndarray:
    """``[2, 3]`` similarity from photo pixels to a ``size`` crop around the face."""
    low, high = landmarks.min(0), landmarks.max(0)
    center = (low + high) / 2
    scale = size / (margin * float(np.max(high - low)))
    offset = (size - 1) / 2 - scale * center
    return np.array([[scale, 0, offset[0]], [0, scale, offset[1]]])


def crop_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop ``[size, size, 3]``, landmarks in crop pixels, and the ``[2, 3]`` transform."""
    transform = crop_transform(landmarks, size)
    crop = cv2.warpAffine(image_rgb, transform, (size, size), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)
    moved = landmarks @ transform[:, :2].T + transform[:, 2]
    return crop, moved, transform


def load_folder(folder: str, size: int) -> Dict[str, np.ndarray]:
    """Every image in ``folder`` with a ``.pts`` beside it, as aligned crops."""
    images, landmarks = [], []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        stem, ext = os.path.splitext(path)
        if ext.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(stem + ".pts"):
            continue
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise TfFaceError(f"{path}: unreadable image; remove or replace it")
        crop, moved, _ = crop_face(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), read_pts(stem + ".pts"),
                                   size)
        images.append(crop.astype(np.float32))
        landmarks.append(moved.astype(np.float32))
    if not images:
        raise TfFaceError(f"{folder}: no images with .pts annotations; put photo.jpg beside "
                          "photo.pts")
    return {"image": np.stack(images), "landmarks": np.stack(landmarks)}
