"""Writing reconstructions: meshes (trimesh), params.json and photo overlays."""

from __future__ import annotations

import os
from typing import Sequence, Tuple

import cv2
import numpy as np

from tfface.faces.align import apply_transform, compose_transforms, resize_transform
from tfface.io_utils import write_json_atomic
from tfface.mesh_io import TEXTURED_FORMATS, write_mesh, write_textured_mesh
from tfface.overlay import draw_label, draw_landmarks, draw_legend, to_uint8, write_image
from tfface.inference.reconstruct import FaceReconstruction, FaceReconstructor
from tfface.inference.texture import face_texture, require_uv_layout, split_at_uv_seams

INPUT_COLOR, MODEL_COLOR = (255, 0, 0), (0, 255, 0)


def overlay(photo: np.ndarray, faces: Sequence[FaceReconstruction],
            reconstructor: FaceReconstructor, opacity: float = 0.6) -> np.ndarray:
    """uint8 RGB photo ``[H, W, 3]`` with each face's render blended in,
    input landmarks in red and the model's in green."""
    out = photo.astype(np.float32) / 255.0
    height, width = photo.shape[:2]
    for face in faces:
        renderer = reconstructor.overlay_renderer_for(face)
        to_crop = resize_transform(reconstructor.size / renderer.image_size[1])
        rendered = renderer(face.params[None])
        rgba = np.concatenate([rendered["image"][0].numpy(), rendered["mask"][0].numpy()], -1)
        blend_into(out, rgba, compose_transforms(face.aligned.inverse, to_crop), opacity)
    image = to_uint8(out)
    for i, face in enumerate(faces):
        radius = landmark_radius(face.input_landmarks, width, height)
        image = draw_landmarks(image, face.input_landmarks, INPUT_COLOR, radius)
        image = draw_landmarks(image, face.landmarks2d, MODEL_COLOR, radius)
        if len(faces) > 1:  # which face is <stem>_face<i>: its number above its brows
            image = draw_label(image, str(i), *label_place(face.input_landmarks))
    return draw_legend(image, (("input landmarks", INPUT_COLOR), ("model", MODEL_COLOR)))


def blend_into(photo: np.ndarray, rgba: np.ndarray, to_photo: np.ndarray,
               opacity: float) -> None:
    """Blend a render ``rgba`` ``[h, w, 4]`` (0..1, alpha last) into the float
    ``photo`` ``[H, W, 3]`` in place, mapped by the affine ``to_photo``
    ``[2, 3]``: warped and blended over the photo's region the render lands
    on only (over the whole photo, a group photo's 17 faces in 3000 x 2000
    took 3.3 s)."""
    height, width = photo.shape[:2]
    rows, columns = rgba.shape[:2]
    # the render's pixel centres 0..w-1 interpolate over -1..w
    corners = apply_transform(to_photo, np.array([[-1, -1], [columns, -1], [-1, rows],
                                                  [columns, rows]], np.float64))
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 1, 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return
    to_region = to_photo - np.array([[0, 0, x0], [0, 0, y0]])
    warped = cv2.warpAffine(rgba, to_region, (int(x1 - x0), int(y1 - y0)),
                            flags=cv2.INTER_LINEAR)
    alpha = opacity * np.clip(warped[..., 3:], 0, 1)
    region = photo[y0:y1, x0:x1]
    region[:] = region * (1 - alpha) + np.clip(warped[..., :3], 0, 1) * alpha


def label_place(landmarks: np.ndarray) -> Tuple[np.ndarray, float]:
    """Bottom-left corner ``[2]`` and height (pixels) of a face's number on
    an overlay: above the top-left of its landmarks ``[68, 2]``, a fifth of
    the face's width tall (12-60 px)."""
    points = np.asarray(landmarks)
    height = float(np.clip(np.ptp(points[:, 0]) / 5, 12, 60))
    top_left = points.min(0)
    return np.array([top_left[0], max(height, top_left[1] - height / 4)]), height


def landmark_radius(landmarks: np.ndarray, width: int, height: int) -> int:
    """Pixel radius of a face's landmark dots: a 400th of the photo's longer
    side, at most a 50th of the face's width (landmarks ``[68, 2]``), so
    the dots of a small face in a large photo do not cover it."""
    face_width = float(np.ptp(np.asarray(landmarks)[:, 0]))
    return max(1, round(min(max(height, width) / 400, face_width / 50)))


def write_params(path: str, face: FaceReconstruction) -> None:
    write_json_atomic(path, face.to_json())


def write_reconstruction(out_dir: str, stem: str, photo: np.ndarray,
                         faces: Sequence[FaceReconstruction], reconstructor: FaceReconstructor,
                         formats: Sequence[str] = ("obj",), texture_size: int = 0) -> np.ndarray:
    """Per face ``<stem>_face<i>.<fmt>`` meshes and ``<stem>_face<i>.json``;
    one ``<stem>_overlay.png``. Returns the overlay.

    Meshes carry vertex colours; with ``texture_size`` (and a model with a
    UV layout) OBJ and GLB carry the photo texture instead (OBJ: with
    ``<stem>_face<i>.mtl`` and ``<stem>_face<i>_texture.png``; GLB: embedded),
    PLY keeps vertex colours, and ``<stem>_face<i>_albedo.png`` holds the
    albedo texture (:mod:`tfface.inference.texture`)."""
    model = reconstructor.model
    textured = texture_size > 0
    if textured:
        require_uv_layout(model)
    composed = overlay(photo, faces, reconstructor)  # everything computed before writing
    if textured:
        vertex_ids, uv, uv_triangles = split_at_uv_seams(model)
        textures = [face_texture(reconstructor, photo, face, texture_size) for face in faces]
    for i, face in enumerate(faces):
        name = os.path.join(out_dir, f"{stem}_face{i}")
        for fmt in formats:
            if textured and fmt in TEXTURED_FORMATS:
                write_textured_mesh(f"{name}.{fmt}", face.vertices[vertex_ids], uv_triangles, uv,
                                    textures[i].photo, model.units)
            else:
                write_mesh(f"{name}.{fmt}", face.vertices, model.triangles, face.colors,
                           model.units)
        if textured:
            write_image(f"{name}_albedo.png", textures[i].albedo)
        write_params(f"{name}.json", face)
    write_image(os.path.join(out_dir, f"{stem}_overlay.png"), composed)
    return composed
