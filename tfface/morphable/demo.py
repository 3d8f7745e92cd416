"""The embedded demo morphable model, generated deterministically by tfface.

A closed head-shaped surface (a warped latitude/longitude super-ellipsoid,
denser on the face) with analytic facial relief, 68 iBUG landmark vertices
placed on the features they name, identity modes (semantic ones such as
face width or nose length, then smooth random fields free of rigid motion),
ten ARKit-named expression blendshapes, and an albedo model (skin, lips,
eyes, brows, hair).
Units: millimetres, +y up, +z out of the face.

It is a toy: plausible enough to test, train and demo the whole pipeline
without any download, but not a statistical model of real faces. Real use
wants the Basel Face Model, the Surrey model or ICT-FaceKit
(``tfface convert-model``).
"""

from __future__ import annotations

import functools
from typing import List, Tuple

import numpy as np

from tfface.morphable.model import MorphableModel

EXPRESSION_NAMES = ("jawOpen", "mouthSmile_L", "mouthSmile_R", "browInnerUp", "browOuterUp_L",
                    "browOuterUp_R", "eyeBlink_L", "eyeBlink_R", "mouthPucker", "cheekPuff")
NUM_IDENTITY = 40
NUM_ALBEDO = 10
_SEED = 20261124

# Eye geometry: centres at x = +-32 mm, y = 25 mm; half-width 14, half-height 4.
_EYE_X, _EYE_Y, _EYE_A, _EYE_B = 32.0, 25.0, 14.0, 4.0
_MOUTH_Y = -40.0


def _ibug_template() -> np.ndarray:
    """Frontal (x, y) positions of the 68 iBUG landmarks in mm, ``[68, 2]``.

    Point 0 is the subject's right jaw end, which a camera sees on the left
    (negative x).
    """
    t = np.linspace(0.0, 1.0, 17)
    angle = np.pi * (1.0 + t)  # pi .. 2 pi, left to right along the lower arc
    jaw = np.stack([72.0 * np.cos(angle) * (1 - 0.12 * np.sin(np.pi * t) ** 4),
                    22.0 + 117.0 * np.sin(angle)], 1)
    brow_x = np.linspace(-60.0, -14.0, 5)
    brow_r = np.stack([brow_x, 40.0 + 7.0 * np.sin(np.pi * (brow_x + 62) / 52)], 1)
    brow_l = brow_r[::-1] * [-1.0, 1.0]
    bridge = np.stack([np.zeros(4), [30.0, 19.0, 8.0, -3.0]], 1)
    nostrils = np.array([[-14.0, -14.0], [-7.0, -16.0], [0.0, -17.0], [7.0, -16.0], [14.0, -14.0]])

    def eye(cx: float) -> np.ndarray:
        # iBUG order, both eyes: image-left corner, two upper-lid points,
        # image-right corner, two lower-lid points (right to left).
        angles = np.radians([180, 120, 60, 0, -60, -120])
        pts = np.stack([cx + _EYE_A * np.cos(angles), _EYE_Y + 1.4 * _EYE_B * np.sin(angles)], 1)
        pts[[1, 2, 4, 5], 1] = np.clip(pts[[1, 2, 4, 5], 1], _EYE_Y - _EYE_B, _EYE_Y + _EYE_B)
        return pts

    eye_r = eye(-_EYE_X)  # 36 outer (left in image) .. 39 inner
    eye_l = eye(_EYE_X)   # 42 inner .. 45 outer
    outer = [[-25, -40], [-15, -34.5], [-6, -32], [0, -33], [6, -32], [15, -34.5], [25, -40],
             [15, -47], [6, -50], [0, -51], [-6, -50], [-15, -47]]
    inner = [[-21, -40], [-8, -38.5], [0, -39], [8, -38.5], [21, -40], [8, -41.5], [0, -42],
             [-8, -41.5]]
    return np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eye_r, eye_l,
                           np.array(outer, float), np.array(inner, float)]).astype(np.float64)


def _gauss(x, y, cx, cy, sx, sy):
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def _smoothstep(edge0: float, edge1: float, v):
    t = np.clip((v - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _sphere_grid(n_lon: int = 80, n_lat: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """Closed lat/long grid, denser towards the front (theta=0) and equator.

    Returns unit-ish direction angles ``[V, 2]`` (theta, phi) and triangles.
    """
    s = np.linspace(-1.0, 1.0, n_lon, endpoint=False)
    theta = np.pi * (0.4 * s + 0.6 * s ** 3)
    r = np.linspace(-1.0, 1.0, n_lat + 1)[1:-1]
    phi = 0.5 * np.pi * (0.5 * r + 0.5 * r ** 3)
    th, ph = np.meshgrid(theta, phi)  # rows: latitude (bottom to top)
    angles = np.concatenate([[[0.0, -np.pi / 2]], np.stack([th.ravel(), ph.ravel()], 1),
                             [[0.0, np.pi / 2]]])
    rows, top = n_lat - 1, len(angles) - 1

    def vid(i: int, j: int) -> int:
        return 1 + i * n_lon + j % n_lon

    tris: List[Tuple[int, int, int]] = []
    for j in range(n_lon):
        tris.append((0, vid(0, j + 1), vid(0, j)))
        tris.append((top, vid(rows - 1, j), vid(rows - 1, j + 1)))
        for i in range(rows - 1):
            a, b, c, d = vid(i, j), vid(i, j + 1), vid(i + 1, j), vid(i + 1, j + 1)
            tris += [(a, b, d), (a, d, c)]
    return angles, np.array(tris, np.int64)


def _base_head(angles: np.ndarray) -> np.ndarray:
    """Super-ellipsoid head, ``[V, 3]`` mm, tapered towards the chin."""
    theta, phi = angles[:, 0], angles[:, 1]

    def spow(v, e):
        return np.sign(v) * np.abs(v) ** e

    cphi, sphi = spow(np.cos(phi), 0.8), spow(np.sin(phi), 0.8)
    x = 78.0 * cphi * spow(np.sin(theta), 0.85)
    y = 10.0 + 118.0 * sphi
    z = -5.0 + 96.0 * cphi * spow(np.cos(theta), 0.85)
    taper = 1.0 - 0.33 * _smoothstep(-10.0, -105.0, y)
    return np.stack([x * taper, y, z * (1 - 0.12 * _smoothstep(-30.0, -105.0, y))], 1)


def _relief(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Forward (z) displacement of the facial features at frontal (x, y), mm."""
    nose_profile = _smoothstep(32.0, -6.0, y) * (y > -18) + (y <= -18) * _smoothstep(-24.0, -18.0, y)
    nose = 24.0 * nose_profile * np.exp(-0.5 * (x / (5.0 + 0.25 * np.clip(28 - y, 0, 40))) ** 2)
    nose += 6.0 * _gauss(x, y, 0.0, -8.0, 6.0, 6.0)
    nose += 4.0 * (_gauss(x, y, -12.0, -12.0, 5.0, 4.0) + _gauss(x, y, 12.0, -12.0, 5.0, 4.0))
    sockets = -7.0 * (_gauss(x, y, -_EYE_X, _EYE_Y + 2, 13.0, 9.0)
                      + _gauss(x, y, _EYE_X, _EYE_Y + 2, 13.0, 9.0))
    eyeballs = 4.0 * (_gauss(x, y, -_EYE_X, _EYE_Y, 9.0, 4.5) + _gauss(x, y, _EYE_X, _EYE_Y, 9.0, 4.5))
    brow = 5.0 * _gauss(x, y, 0.0, 40.0, 45.0, 6.0)
    cheeks = 6.0 * (_gauss(x, y, -42.0, 0.0, 14.0, 14.0) + _gauss(x, y, 42.0, 0.0, 14.0, 14.0))
    lips = 6.0 * _gauss(x, y, 0.0, -35.5, 20.0, 3.5) + 5.0 * _gauss(x, y, 0.0, -46.0, 18.0, 4.0)
    mouth_line = -2.5 * _gauss(x, y, 0.0, _MOUTH_Y, 22.0, 1.2)
    chin = 9.0 * _gauss(x, y, 0.0, -80.0, 22.0, 14.0) + 8.0 * _gauss(x, y, 0.0, -45.0, 30.0, 16.0)
    return nose + sockets + eyeballs + brow + cheeks + lips + mouth_line + chin


def _front_weight(base: np.ndarray) -> np.ndarray:
    """1 on the face, falling to 0 towards the sides and back of the head."""
    return _smoothstep(15.0, 60.0, base[:, 2])


class _Fields:
    """Per-vertex frontal coordinates and helpers to build displacement fields."""

    def __init__(self, base: np.ndarray) -> None:
        self.base = base
        self.x, self.y, self.z = base[:, 0], base[:, 1], base[:, 2]
        self.front = _front_weight(base)

    def field(self, dx=0.0, dy=0.0, dz=0.0) -> np.ndarray:
        v = len(self.x)
        return np.stack([np.broadcast_to(d, (v,)) for d in (dx, dy, dz)], 1).astype(np.float64)

    def eye_inside(self, side: float) -> np.ndarray:
        return (((self.x - side * _EYE_X) / _EYE_A) ** 2
                + ((self.y - _EYE_Y) / _EYE_B) ** 2) <= 1.0


def _identity_modes(f: _Fields, rng: np.random.Generator) -> np.ndarray:
    """``[3V, K_id]``, each column one s.d. in mm."""
    x, y, front = f.x, f.y, f.front
    semantic = [
        f.field(dx=0.06 * x),                                   # head width
        f.field(dy=0.05 * (y - 10)),                            # head height
        f.field(dz=0.06 * f.z),                                 # head depth
        f.field(dx=0.08 * x * _smoothstep(-10, -90, y)),        # jaw width
        f.field(dz=3.0 * front * _gauss(x, y, 0, 0, 8, 25)),    # nose height
        f.field(dy=-3.0 * _gauss(x, y, 0, -10, 12, 12)),        # nose length
        f.field(dx=0.25 * x * _gauss(x, y, 0, -12, 14, 8)),     # nose width
        f.field(dx=2.0 * np.sign(x) * _gauss(np.abs(x), y, _EYE_X, _EYE_Y, 12, 8)),  # eye spacing
        f.field(dy=3.0 * _gauss(x, y, 0, 40, 50, 10)),          # brow height
        f.field(dy=-4.0 * _smoothstep(-55, -95, y) * front),    # chin length
        f.field(dz=3.0 * front * _gauss(x, y, 0, -80, 20, 12)),  # chin protrusion
        f.field(dz=2.0 * front * _gauss(x, y, 0, -41, 20, 8)),  # lip fullness
        f.field(dz=3.0 * front * (_gauss(x, y, -42, 0, 14, 14) + _gauss(x, y, 42, 0, 14, 14))),
    ]
    random_fields = []
    centres = f.base[rng.choice(len(x), 64, replace=False)]
    rigid = _rigid_motions(f.base)
    for k in range(NUM_IDENTITY - len(semantic)):
        weights = rng.normal(size=(len(centres), 3))
        dist2 = ((f.base[:, None, :] - centres[None]) ** 2).sum(-1)
        kernel = np.exp(-dist2 / (2 * 35.0 ** 2))
        disp = (kernel @ weights).reshape(-1)
        disp = (disp - rigid @ (rigid.T @ disp)).reshape(-1, 3)
        disp *= 2.0 / (np.sqrt((disp ** 2).sum(1).mean()) + 1e-9) / (1.0 + 0.1 * k)
        random_fields.append(disp)
    return np.stack([m.reshape(-1) for m in semantic + random_fields], 1)


def _rigid_motions(points: np.ndarray) -> np.ndarray:
    """Orthonormal ``[3V, 7]`` basis of small translations, rotations and
    scaling of ``points`` ``[V, 3]``. Identity modes are made orthogonal to
    it, as in a PCA model built after Procrustes alignment: otherwise a
    shape mode could mimic a head rotation and pose would be ambiguous."""
    centred = points - points.mean(0)
    motions = [np.broadcast_to(axis, centred.shape) for axis in np.eye(3)]
    motions += [np.cross(axis, centred) for axis in np.eye(3)] + [centred]
    basis, _ = np.linalg.qr(np.stack([m.reshape(-1) for m in motions], 1))
    return basis


def _expression_modes(f: _Fields) -> np.ndarray:
    """``[3V, K_exp]``, columns in :data:`EXPRESSION_NAMES` order; 1.0 = full."""
    x, y, z, front = f.x, f.y, f.z, f.front
    lower = _smoothstep(_MOUTH_Y + 1.5, _MOUTH_Y - 1.5, y) * _smoothstep(95, 40, np.abs(x) + 0.0)
    jaw_angle = np.radians(18.0) * lower
    pivot_y, pivot_z = 5.0, -30.0
    ry, rz = y - pivot_y, z - pivot_z
    jaw = f.field(dy=(ry * np.cos(jaw_angle) - rz * np.sin(jaw_angle)) - ry,
                  dz=(ry * np.sin(jaw_angle) + rz * np.cos(jaw_angle)) - rz)

    def smile(side: float) -> np.ndarray:
        w = front * _gauss(x, y, side * 25, _MOUTH_Y, 12, 9)
        cheek = front * _gauss(x, y, side * 38, -15, 14, 14)
        return f.field(dx=side * 5 * w, dy=6 * w + 3 * cheek, dz=2 * cheek - 2 * w)

    def brow(cx: float, sx: float) -> np.ndarray:
        return f.field(dy=7 * front * _gauss(x, y, cx, 44, sx, 10))

    def blink(side: float) -> np.ndarray:
        dx, dy = (x - side * _EYE_X) / _EYE_A, y - _EYE_Y
        across = np.clip(1 - dx ** 2, 0, 1)
        lid = np.where(dy > 0, 2 * _EYE_B * across * np.exp(-np.clip(dy - _EYE_B, 0, None) / 5.0),
                       0.0) * _smoothstep(-0.5, 0.5, dy + 0.0)
        return f.field(dy=-lid, dz=0.5 * lid)

    pucker_w = front * _gauss(x, y, 0, _MOUTH_Y, 22, 10)
    pucker = f.field(dx=-0.35 * x * pucker_w, dz=8 * pucker_w)
    puff = f.field(dx=np.sign(x) * 6 * front * (_gauss(np.abs(x), y, 40, -30, 14, 14)),
                   dz=3 * front * _gauss(np.abs(x), y, 40, -30, 14, 14))
    modes = [jaw, smile(1.0), smile(-1.0), brow(0.0, 14.0), brow(45.0, 14.0), brow(-45.0, 14.0),
             blink(1.0), blink(-1.0), pucker, puff]
    return np.stack([m.reshape(-1) for m in modes], 1)


def _albedo(f: _Fields, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Mean albedo ``[V, 3]`` and basis ``[3V, K_alb]``."""
    x, y = f.x, f.y
    skin = np.array([0.80, 0.62, 0.52])
    colour = np.tile(skin, (len(x), 1))
    hair = (f.y > 58 + 0.004 * x ** 2 - 30 * (1 - f.front)) | (f.z < -20)
    colour[hair] = [0.22, 0.16, 0.11]
    brows = np.zeros(len(x))
    for side in (-1.0, 1.0):
        brows = np.maximum(brows, _gauss(x, y, side * 36, 41 + 4 * np.exp(-((x - side * 36) / 18) ** 2),
                                         16, 2.6))
    colour = colour * (1 - 0.75 * brows[:, None]) + 0.75 * brows[:, None] * [0.25, 0.18, 0.12]
    lips = _gauss(x, y, 0, -41, 24, 6) * _smoothstep(30, 20, np.abs(x))
    colour = colour * (1 - lips[:, None]) + lips[:, None] * [0.70, 0.36, 0.36]
    mouth = (np.abs(y - _MOUTH_Y) < 1.2) & (np.abs(x) < 20)
    colour[mouth] = [0.30, 0.10, 0.10]
    for side in (-1.0, 1.0):
        inside = f.eye_inside(side)
        colour[inside] = [0.92, 0.90, 0.86]
        iris = inside & (((x - side * _EYE_X) ** 2 + (y - _EYE_Y) ** 2) < 5.5 ** 2)
        colour[iris] = [0.33, 0.22, 0.13]
        colour[iris & (((x - side * _EYE_X) ** 2 + (y - _EYE_Y) ** 2) < 2.2 ** 2)] = 0.05
    skin_mask = (~hair & ~mouth & ~f.eye_inside(1.0) & ~f.eye_inside(-1.0)).astype(float)[:, None]
    modes = [skin_mask * [0.10, 0.08, 0.07],            # brightness
             skin_mask * [0.06, -0.02, -0.02],          # redness
             skin_mask * [0.02, 0.03, -0.04],           # yellowness
             (lips[:, None] * [0.10, 0.02, 0.03]),      # lip colour
             (hair[:, None] * [0.12, 0.09, 0.05]),      # hair colour
             (brows[:, None] * [0.10, 0.08, 0.06])]     # brow darkness
    centres = f.base[rng.choice(len(x), 48, replace=False)]
    dist2 = ((f.base[:, None, :] - centres[None]) ** 2).sum(-1)
    kernel = np.exp(-dist2 / (2 * 25.0 ** 2))
    for _ in range(NUM_ALBEDO - len(modes)):
        field = kernel @ rng.normal(size=(len(centres), 1))
        modes.append(skin_mask * 0.02 * field / (np.abs(field).max() + 1e-9) * [1.0, 0.9, 0.8])
    basis = np.stack([np.asarray(m, np.float64).reshape(-1) for m in modes], 1)
    return np.clip(colour, 0.0, 1.0), basis


@functools.lru_cache(maxsize=1)
def demo_model() -> MorphableModel:
    """The embedded demo model (deterministic, a few thousand vertices)."""
    rng = np.random.default_rng(_SEED)
    angles, triangles = _sphere_grid()
    base = _base_head(angles)
    fields = _Fields(base)
    mean = base.copy()
    mean[:, 2] += fields.front * _relief(fields.x, fields.y)

    # Landmarks: the front-facing vertex nearest to each template point.
    template = _ibug_template()
    candidates = np.flatnonzero(base[:, 2] > 5.0)
    d2 = ((mean[candidates, None, :2] - template[None]) ** 2).sum(-1)
    landmarks = candidates[np.argmin(d2, axis=0)]

    identity = _identity_modes(fields, rng)
    expression = _expression_modes(fields)
    mean_albedo, albedo_basis = _albedo(fields, rng)
    return MorphableModel(
        mean_shape=mean, id_basis=identity, exp_basis=expression, triangles=triangles,
        landmark_indices=landmarks, mean_albedo=mean_albedo, albedo_basis=albedo_basis,
        expression_names=EXPRESSION_NAMES, units="mm", name="tfface-demo", source="<demo model>")
