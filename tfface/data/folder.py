"""iBUG ``.pts`` annotations, and a folder of photos with them -> aligned crops."""

from __future__ import annotations

import glob
import os
from typing import Dict, Optional

import numpy as np

from tfface.errors import TfFaceError
from tfface.faces.align import landmark_problem

PTS_ORIGIN = 1.0
"""Coordinate of the top-left pixel centre in iBUG ``.pts`` files (300-W's
Matlab convention, which menpo also assumes); tfface's is 0."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".webp")


def read_pts(path: str) -> np.ndarray:
    """iBUG ``.pts`` -> ``[68, 2]`` pixel coordinates, 0-based (pixel centres
    at integers; the files count from :data:`PTS_ORIGIN`)."""
    hint = "68 lines 'x y' between { and }, after 'version: 1' and 'n_points: 68'"
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise TfFaceError(f"{path}: cannot read this .pts file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise TfFaceError(f"{path}: not a text file; an iBUG .pts file holds {hint}") from None
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise TfFaceError(f"{path}: no {{ ... }} block of points; an iBUG .pts file holds {hint}")
    points = []
    for line in (line for line in text[start + 1:end].splitlines() if line.strip()):
        try:
            x, y = (float(word) for word in line.split())
            if not (np.isfinite(x) and np.isfinite(y)):  # float() reads 'nan' and 'inf'
                raise ValueError
        except ValueError:
            raise TfFaceError(f"{path}: point {len(points) + 1} is {line.strip()!r}, not 'x y' "
                              f"(two finite numbers); an iBUG .pts file holds {hint}") from None
        points.append((x, y))
    if len(points) != 68:
        raise TfFaceError(f"{path}: {len(points)} points, expected 68")
    points = np.array(points, np.float64)
    problem = landmark_problem(points)
    if problem:
        raise TfFaceError(f"{path}: {problem}")
    return points - PTS_ORIGIN


def read_photo_pts(path: str, image: np.ndarray) -> np.ndarray:
    """:func:`read_pts` of the annotation of ``image`` ``[H, W, 3]``, checked
    against it: at least half of the points lie on the photo (a face cut
    off by the frame keeps most of its points; the .pts of another photo, or
    of another size of this one, does not)."""
    points = read_pts(path)
    height, width = image.shape[:2]
    outside = int(np.sum(np.any((points < -0.5) | (points > [width - 0.5, height - 0.5]), 1)))
    if outside > len(points) // 2:
        raise TfFaceError(f"{path}: {outside} of {len(points)} points lie outside the photo "
                          f"({width} x {height} px); use the .pts of this photo, at this size")
    return points


def write_pts(path: str, landmarks: np.ndarray) -> None:
    """``[68, 2]`` 0-based pixel coordinates -> iBUG ``.pts`` file (from :data:`PTS_ORIGIN`)."""
    from tfface.io_utils import atomic_output
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in np.asarray(landmarks) + PTS_ORIGIN)
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f"version: 1\nn_points: {len(landmarks)}\n{{\n{body}\n}}\n")


def load_folder(folder: str, size: int, template: Optional[np.ndarray] = None,
                fitter=None, jaw: str = "contour") -> Dict[str, np.ndarray]:
    """Every image in ``folder`` with a ``.pts`` beside it, as crops aligned
    to ``template`` (:func:`tfface.faces.align.align_face`): ``image``
    ``[N, S, S, 3]``, ``landmarks`` ``[N, 68, 2]`` and, with a landmark
    ``fitter`` (:class:`tfface.fitting.LandmarkFitter` of the model and
    ``size`` crops), ``landmark_vertices`` ``[N, 68]``, the vertices the
    landmarks mark by the jaw convention ``jaw``."""
    from tfface.faces.align import align_face
    from tfface.faces.image_io import read_image
    images, landmarks, vertices = [], [], []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        stem, ext = os.path.splitext(path)
        if ext.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(stem + ".pts"):
            continue
        image = read_image(path)
        aligned = align_face(image, read_photo_pts(stem + ".pts", image), size, template)
        images.append(aligned.crop.astype(np.float32))
        landmarks.append(aligned.landmarks.astype(np.float32))
        if fitter is not None:
            vertices.append(fitter.annotation_vertices(aligned.landmarks, jaw))
    if not images:
        raise TfFaceError(f"{folder}: no images with .pts annotations; put photo.jpg beside "
                          "photo.pts")
    arrays = {"image": np.stack(images), "landmarks": np.stack(landmarks)}
    if vertices:
        arrays["landmark_vertices"] = np.stack(vertices)
    return arrays
