"""MediaPipe landmarker: anchors, suppression, the 68-point map, faces in shared
photos, no face / tiny face, tracking through a cut."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from tests.conftest import shared_path
from tfface.faces import read_image
from tfface.faces.landmarks import MediaPipeLandmarker
from tfface.faces.mediapipe import (Detection, eye_aligned_crop, ssd_anchors, weighted_nms)
from tfface.faces.mesh_map import IBUG_FROM_MESH, MESH_VERTICES, derive_map, ibug68


@pytest.fixture(scope="module")
def landmarker():
    return MediaPipeLandmarker()


def test_anchors_match_the_short_range_layout():
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    assert np.allclose(anchors[0], [0.5 / 16, 0.5 / 16]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[512], [0.5 / 8, 0.5 / 8]) and np.allclose(anchors[517], anchors[512])
    assert np.allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


def test_weighted_nms_merges_overlaps_and_parts():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [3, 3, 6, 6], [50, 50, 60, 60]], float)
    keypoints = np.zeros((4, 6, 2))
    found = weighted_nms(boxes, keypoints, np.array([0.9, 0.3, 0.8, 0.6]))
    assert len(found) == 2 and all(isinstance(d, Detection) for d in found)
    # the first merges the box beside it and the part inside it, score-weighted
    want = (0.9 * boxes[0] + 0.3 * boxes[1] + 0.8 * boxes[2]) / 2.0
    assert np.allclose(found[0].box, want) and found[0].score == 0.9
    assert np.allclose(found[1].box, boxes[3])


def test_eye_aligned_crop_levels_the_eyes():
    right, left = np.array([100.0, 120.0]), np.array([160.0, 100.0])  # tilted eye line
    crop = eye_aligned_crop(np.array([80.0, 60.0, 180.0, 200.0]), right, left)
    a, b = (crop[:, :2] @ p + crop[:, 2] for p in (right, left))
    assert abs(a[1] - b[1]) < 1e-9 and b[0] > a[0]
    centre = crop[:, :2] @ [130.0, 130.0] + crop[:, 2]
    assert np.allclose(centre, [128, 128])


def test_mesh_map_is_valid_and_derivable():
    assert len(IBUG_FROM_MESH) == 68
    assert all(1 <= len(ids) <= 3 and all(0 <= i < MESH_VERTICES for i in ids)
               for ids in IBUG_FROM_MESH)
    rng = np.random.default_rng(0)
    meshes = rng.uniform(0, 100, (20, 478, 2))
    chosen = [(int(i),) for i in rng.choice(MESH_VERTICES, 68, replace=False)]
    truths = np.stack([ibug68(m, chosen) for m in meshes])  # a known map must be recovered
    mapping, residual = derive_map(meshes, truths)
    assert residual.max() < 1e-9 and mapping == chosen


def test_finds_both_faces_in_the_group_photo(landmarker):
    path = shared_path("faces", "breakingbad.jpg")
    truth_centre = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3,
                              max_rows=68).mean(0)
    faces = landmarker(read_image(path))
    usable = [f for f in faces if f.problem is None]
    assert len(usable) == 2  # the two people (a detection on the dice is rejected)
    centres = sorted(f.box[0] for f in usable)
    assert centres[0] < 960 < centres[1]  # one face on each side of the photo
    assert any(f.box[0] < truth_centre[0] < f.box[2] for f in usable)


def test_no_face_and_tiny_face(landmarker):
    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    assert landmarker(np.dstack([ramp] * 3)) == []
    photo = read_image(shared_path("faces", "takeo.ppm"))
    canvas = np.full((600, 600, 3), 128, np.uint8)
    canvas[100:100 + 45, 100:100 + 30] = cv2.resize(photo, (30, 45))
    faces = landmarker(canvas)
    assert all(f.problem == "face_too_small" for f in faces)


def test_tracking_follows_and_recovers_after_a_cut(landmarker):
    from tfface.video import _FaceTrack
    photo = read_image(shared_path("faces", "takeo.ppm"))
    blank = np.full_like(photo, 90)
    frames = [np.roll(photo, s, axis=1) for s in (0, 2, 4)] + [blank] + \
        [np.roll(photo, s, axis=1) for s in (0, 2)]
    track = _FaceTrack(landmarker, tracking=True)
    found = [len(track(frame)) for frame in frames]
    assert found == [1, 1, 1, 0, 1, 1]
    assert track.detections == 3  # first frame, the cut, after the cut
