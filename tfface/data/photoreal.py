"""Make synthetic renders look like photos: what a camera and the world add.

Everything here acts on rendered images ``[N, H, W, 3]`` (0..1) with their
face mask ``[N, H, W, 1]``, in numpy/OpenCV (data generation, not the
training graph): backgrounds (gradients, noise textures, other rendered
faces), eyes and mouth interiors behind the mesh's openings, eyebrows, lid
lines and lips, hair, skin texture, partial occluders, defocus blur, sensor
noise and JPEG artefacts. Each image draws its own settings from ``rng``.
"""

from __future__ import annotations

from typing import Optional, Sequence

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
                 landmarks: Optional[np.ndarray] = None, occluder_rate: float = 0.25,
                 hair_rate: float = 0.75) -> np.ndarray:
    """Renders ``[N, H, W, 3]`` (0..1, face only) -> photo-like uint8-valued
    float images (0..255): background, skin texture, occluders, blur,
    sensor noise and JPEG compression; with the renders' ``landmarks``
    ``[N, 68, 2]`` (pixels) also eyes and a mouth interior behind the mesh's
    openings (:func:`eyes_and_mouth`), eyebrows, lid lines and lips on the
    skin (:func:`skin_features`) and, on ``hair_rate`` of the faces, hair
    over the skull (:func:`hair`)."""
    count, h, w = images.shape[:3]
    backgrounds = photo_backgrounds(images, rng)
    out = np.empty_like(images)
    for i in range(count):
        mask = masks[i]
        behind = backgrounds[i]
        if landmarks is not None:
            behind = eyes_and_mouth(behind, landmarks[i], rng)
        skin = 1.0 + 0.12 * (noise_texture((h, w), rng, 1) - 0.5)  # blotches, pores at low res
        if landmarks is not None:
            skin = skin * skin_features((h, w), landmarks[i], rng)
        image = images[i] * skin * mask + behind * (1 - mask)
        if landmarks is not None and rng.uniform() < hair_rate:
            image = hair(image, landmarks[i], rng)
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


def eyes_and_mouth(background: np.ndarray, landmarks: np.ndarray,
                   rng: np.random.Generator,
                   gaze: Optional[Sequence[float]] = None) -> np.ndarray:
    """``background`` ``[H, W, 3]`` (0..1) with two eyes and a mouth interior
    painted where a face with iBUG ``landmarks`` ``[68, 2]`` has them, to be
    composited *behind* the render: the morphable mesh has openings there,
    through which a real face shows sclera and iris or a dark mouth with
    teeth, not the scene behind the head. Iris about 0.4 of the eye-corner
    distance across, with a random colour and gaze; mouth dark red, with an
    upper row of teeth on half of the faces. ``gaze``: the iris centre's
    offset from the eye's, x right and y down, in eye widths (corner to
    corner); None: random in +-0.15 x +-0.075."""
    out = background.copy()
    shade = rng.uniform(0.45, 1.0)
    iris_colour = rng.uniform([0.05, 0.03, 0.02], [0.45, 0.4, 0.45])
    random_gaze = rng.uniform(-0.15, 0.15, 2) * [1.0, 0.5]  # drawn either way: same stream
    gaze = random_gaze if gaze is None else np.asarray(gaze, np.float64)
    for corners, lids in (((36, 39), range(36, 42)), ((42, 45), range(42, 48))):
        a, b = landmarks[corners[0]], landmarks[corners[1]]
        width = float(np.linalg.norm(b - a))
        if width < 1.0:
            continue
        points = landmarks[list(lids)]
        centre = points.mean(0)
        hull = cv2.convexHull(_grow(points, centre, 1.6).astype(np.int32))
        cv2.fillConvexPoly(out, hull, (np.array([0.85, 0.8, 0.75]) * shade).tolist())
        iris = centre + gaze * width
        cv2.circle(out, tuple(int(v) for v in iris), max(1, int(0.2 * width)),
                   (iris_colour * shade).tolist(), -1)
        cv2.circle(out, tuple(int(v) for v in iris), max(1, int(0.08 * width)),
                   (0.02, 0.02, 0.02), -1)
    lips = landmarks[60:68]
    centre = lips.mean(0)
    hull = cv2.convexHull(_grow(lips, centre, 1.5).astype(np.int32))
    cv2.fillConvexPoly(out, hull, (np.array([0.3, 0.08, 0.08]) * rng.uniform(0.2, 0.8)).tolist())
    if rng.uniform() < 0.5:
        teeth = np.zeros(out.shape[:2], np.uint8)
        cv2.fillConvexPoly(teeth, hull, 1)
        teeth[int(centre[1]):] = 0
        out[teeth > 0] = np.array([0.9, 0.88, 0.8]) * shade
    return out


def skin_features(size, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A multiplicative skin layer ``[H, W, 3]`` (1 = unchanged) that darkens
    the eyebrows (iBUG points 17-26) and the upper lid lines (36-39, 42-45)
    and tints the lips (between the outer 48-59 and inner 60-67 points) of a
    face with ``landmarks`` ``[68, 2]``: what a bare albedo model lacks and
    every photo shows. The side of a face turned well away (its eye under
    0.4 of the other's width) gets no brow or lid line (hidden or foreshortened)."""
    h, w = size
    dark = np.zeros((h, w), np.float32)
    scale = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    widths = [np.linalg.norm(landmarks[39] - landmarks[36]),
              np.linalg.norm(landmarks[45] - landmarks[42])]
    brow_strength = rng.uniform(0.3, 0.75)
    for side, (brow, lid) in enumerate(((range(17, 22), range(36, 40)),
                                        (range(22, 27), range(42, 46)))):
        if widths[side] < 0.4 * widths[1 - side]:
            continue
        _stroke(dark, landmarks[list(brow)], scale * rng.uniform(0.05, 0.1), brow_strength)
        _stroke(dark, landmarks[list(lid)], scale * 0.025, rng.uniform(0.3, 0.7))
    dark = cv2.GaussianBlur(dark, (0, 0), max(0.5, 0.015 * scale))
    layer = 1.0 - dark[..., None] * np.ones(3, np.float32)
    lips = np.zeros((h, w), np.uint8)
    cv2.fillPoly(lips, [landmarks[48:60].astype(np.int32)], 1)
    cv2.fillPoly(lips, [landmarks[60:68].astype(np.int32)], 0)
    tint = rng.uniform([0.7, 0.5, 0.5], [0.9, 0.75, 0.75]).astype(np.float32)
    layer[lips > 0] *= tint
    return layer


def _stroke(canvas: np.ndarray, points: np.ndarray, thickness: float, value: float) -> None:
    """Draw a polyline through ``points`` ``[N, 2]`` on ``canvas`` ``[H, W]`` in place."""
    cv2.polylines(canvas, [points.astype(np.int32)], False, float(value),
                  max(1, int(round(thickness))), cv2.LINE_AA)


def hair(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` ``[H, W, 3]`` with textured hair on the face with iBUG
    ``landmarks`` ``[68, 2]``: a head-sized ellipse with the face's oval
    (hairline to chin) and the neck cut out, in a random hair colour (black
    to blond); on a third of the faces long, falling beside the face past the
    chin."""
    h, w = image.shape[:2]
    brows, chin = landmarks[17:27].mean(0), landmarks[8]
    up = brows - chin
    face_height = float(np.linalg.norm(up))
    if face_height < 2.0:
        return image
    up /= face_height
    width = float(np.linalg.norm(landmarks[16] - landmarks[0]))
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    hairline = brows + up * face_height * rng.uniform(0.15, 0.45)
    head_top = brows + up * face_height * rng.uniform(0.8, 1.0)
    bottom = chin - up * face_height * rng.uniform(0.2, 0.6) if rng.uniform() < 1 / 3 \
        else brows - up * face_height * rng.uniform(0.0, 0.4)
    shape = np.zeros((h, w), np.float32)
    _ellipse(shape, (head_top + bottom) / 2, width * rng.uniform(0.55, 0.75),
             float(np.linalg.norm(head_top - bottom)) / 2, angle, 1.0)
    _ellipse(shape, (hairline + chin) / 2, width * rng.uniform(0.42, 0.5),
             float(np.linalg.norm(hairline - chin)) / 2, angle, 0.0)
    yy, xx = np.mgrid[0:h, 0:w]
    along, across = (xx - chin[0]) * up[0] + (yy - chin[1]) * up[1], \
        (xx - chin[0]) * up[1] - (yy - chin[1]) * up[0]
    shape[(along < 0) & (np.abs(across) < 0.4 * width)] = 0.0  # the neck stays bare
    shape = cv2.GaussianBlur(shape, (0, 0), max(0.5, 0.01 * width))[..., None]
    colour = rng.choice([[0.06, 0.05, 0.04], [0.25, 0.15, 0.08], [0.5, 0.35, 0.2],
                         [0.75, 0.65, 0.45], [0.45, 0.45, 0.45]]) * rng.uniform(0.7, 1.2)
    strands = 0.6 + 0.8 * noise_texture((h, w), rng, 1)
    return image * (1 - shape) + np.clip(colour * strands, 0, 1) * shape


def _ellipse(canvas: np.ndarray, centre: np.ndarray, half_width: float, half_height: float,
             angle: float, value: float) -> None:
    """Fill an ellipse on ``canvas`` ``[H, W]`` in place."""
    cv2.ellipse(canvas, (int(centre[0]), int(centre[1])), (int(half_width), int(half_height)),
                angle, 0, 360, value, -1)


def _grow(points: np.ndarray, centre: np.ndarray, factor: float) -> np.ndarray:
    """``points`` ``[N, 2]`` scaled by ``factor`` about ``centre``."""
    return centre + factor * (points - centre)


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
