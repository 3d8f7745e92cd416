"""Photo-like synthetic faces: what shows through the mesh's eye and mouth
openings, and where hair goes, on renders of the default model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tfface.data.photoreal import eyes_and_mouth, hair, skin_features
from tfface.layers import Renderer
from tfface.morphable import default_model

GREEN = np.array([0.0, 1.0, 0.0], np.float32)


@pytest.fixture(scope="module")
def face():
    """A frontal default face with the eyes and mouth a little open: mask
    ``[S, S]`` and landmarks ``[68, 2]``."""
    model = default_model()
    renderer = Renderer.from_model(model, (192, 192))
    params = renderer.layout.zeros(1)
    names = list(model.expression_names)
    params[0, renderer.layout.slices["expression"].start + names.index("jawOpen")] = 0.5
    out = renderer(params)
    return out["mask"].numpy()[0, ..., 0], out["landmarks2d"].numpy()[0]


def _at(image: np.ndarray, point: np.ndarray) -> np.ndarray:
    x, y = np.round(point).astype(int)
    return image[y, x]


def _inside(points: np.ndarray, shape) -> np.ndarray:
    region = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(points.astype(np.int32)), 1)
    return region > 0


def test_eye_and_mouth_openings_show_eyes_and_mouth_not_the_scene(face):
    mask, landmarks = face
    background = np.broadcast_to(GREEN, mask.shape + (3,)).copy()
    painted = eyes_and_mouth(background, landmarks, np.random.default_rng(0))
    composite = np.where(mask[..., None] > 0.5, 0.5, painted)
    for points in (landmarks[36:42], landmarks[42:48], landmarks[60:68]):
        opening = _inside(points, mask.shape) & (mask < 0.5)
        assert opening.sum() > 5  # the mesh is open there
        assert not np.any(np.all(composite[opening] == GREEN, axis=-1))
    assert _at(painted, landmarks[36:42].mean(0)).max() < 0.5  # dark iris, not sclera
    for elsewhere in (30, 8, 0, 16):  # nose tip, chin, jaw
        np.testing.assert_array_equal(_at(painted, landmarks[elsewhere]), GREEN)


def test_hair_frames_the_face_and_leaves_it_bare(face):
    mask, landmarks = face
    image = np.full(mask.shape + (3,), 0.5, np.float32)
    brows, chin = landmarks[17:27].mean(0), landmarks[8]
    covered = []
    for seed in range(12):
        out = hair(image, landmarks, np.random.default_rng(seed))
        changed = np.abs(out - image).max(-1) > 1e-3
        face_core = _inside(landmarks[[39, 42, 54, 48]], mask.shape)  # inner eyes to mouth
        assert not changed[face_core].any()
        top = np.round(brows + 0.9 * (brows - chin)).astype(int)
        covered.append(changed[max(top[1], 0), top[0]])
    assert np.mean(covered) > 0.5  # most heads get hair on top


def test_skin_features_darken_brows_and_lids_and_tint_lips(face):
    mask, landmarks = face
    layer = skin_features(mask.shape, landmarks, np.random.default_rng(0))
    for brow in (19, 24):
        assert _at(layer, landmarks[brow]).max() < 0.9
    for lid in (37, 44):
        assert _at(layer, landmarks[lid]).max() < 0.95
    red, green, _ = _at(layer, (landmarks[51] + landmarks[62]) / 2)  # upper lip, mid-height
    assert red < 1.0 and green < red  # darker and redder
    for bare in (30, 8, 0):  # nose tip, chin, jaw
        np.testing.assert_allclose(_at(layer, landmarks[bare]), 1.0, atol=1e-3)
    turned = landmarks.copy()  # the image-right eye foreshortened to a quarter
    turned[42:48, 0] = landmarks[42:48, 0].mean() + 0.25 * (landmarks[42:48, 0]
                                                             - landmarks[42:48, 0].mean())
    layer = skin_features(mask.shape, turned, np.random.default_rng(0))
    np.testing.assert_allclose(_at(layer, turned[24]), 1.0, atol=1e-3)


def test_photo_like_renders_keep_the_renders_landmarks_and_faces():
    """Benchmarks' faces of known params: in batches, the renderer's own
    landmarks, uint8 photos whose face region is the render's face (not the
    background painted over it), the same photos for the same seed and batch."""
    from tfface.data.synthetic import photo_like_renders
    model = default_model()
    renderer = Renderer.from_model(model, (96, 96))
    params = renderer.layout.zeros(3)
    params[:, renderer.layout.slices["rotation"]] = np.radians([[0, 0, 0], [0, 30, 0],
                                                                [10, -20, 5]])
    images, landmarks = photo_like_renders(renderer, params, np.random.default_rng(1), batch=2)
    out = renderer(params)
    np.testing.assert_allclose(landmarks, out["landmarks2d"].numpy(), atol=1e-4)
    assert images.dtype == np.uint8 and images.shape == (3, 96, 96, 3)
    face = out["mask"].numpy()[..., 0] > 0.99
    skin = out["image"].numpy()[face] * 255
    assert np.mean(np.abs(images[face].astype(float) - skin)) < 25  # the face shows through (11)
    again, _ = photo_like_renders(renderer, params, np.random.default_rng(1), batch=2)
    np.testing.assert_array_equal(images, again)


def test_posed_params_scale_the_identity_and_bound_the_rotation():
    from tfface.data.synthetic import posed_params, random_params
    from tfface.params import FaceParams
    layout = FaceParams.from_model(default_model())
    base = random_params(layout, 300, np.random.default_rng(3))
    posed = posed_params(layout, 300, np.random.default_rng(3), (10, 60, 5), identity_scale=0.5)
    s = layout.slices
    np.testing.assert_allclose(posed[:, s["identity"]], 0.5 * base[:, s["identity"]], rtol=1e-6)
    np.testing.assert_array_equal(posed[:, s["expression"]], base[:, s["expression"]])
    bound = np.radians([10, 60, 5])
    rotation = np.abs(posed[:, s["rotation"]])
    assert np.all(rotation <= bound + 1e-6) and np.all(rotation.max(0) > 0.95 * bound)
