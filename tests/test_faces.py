"""Faces in photos: robust reading, dlib detection vs human annotations,
alignment round trips, and `tfface prepare` on a folder with bad files."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import shared_path
from tfface.errors import TfFaceError
from tfface.io_utils import OUTPUT_MARKER
from tfface.data.folder import read_pts
from tfface.faces import ImageReadError, align_face, default_template, read_image

PHOTOS = ("breakingbad.jpg", "takeo.ppm")


def _eye_corner_distance(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[36] - points[45]))


LANDMARK_BOUNDS = {"dlib": 0.08, "mediapipe": 0.12}
"""Mean error over the outer-eye-corner distance on the shared photos.
Measured: dlib 3.8% and 4.0% (.pts read 1-based; 4.4-4.7% if read raw;
dlib's predictor reports ~5% on 300-W, the data it was trained on);
MediaPipe + the derived 68-point map 6-9% (breakingbad's turned face: its
annotated jaw is the visible outline, the map's the 3D jaw)."""


@pytest.mark.parametrize("landmarker", ["mediapipe", "dlib"])
@pytest.mark.parametrize("name", PHOTOS)
def test_detector_finds_annotated_face_within_error(name, landmarker):
    if landmarker == "dlib":
        pytest.importorskip("dlib")
    from tfface.faces.landmarks import make_landmarker
    path = shared_path("faces", name)
    truth = read_pts(os.path.splitext(path)[0] + ".pts")
    faces = make_landmarker(landmarker)(read_image(path))
    errors = [np.linalg.norm(f.landmarks - truth, axis=1).mean() / _eye_corner_distance(truth)
              for f in faces]
    best = int(np.argmin(errors))
    assert errors[best] < LANDMARK_BOUNDS[landmarker], errors
    box = faces[best].box
    assert box[0] < truth[:, 0].mean() < box[2] and box[1] < truth[:, 1].mean() < box[3]
    assert faces[best].problem is None


@pytest.mark.parametrize("landmarker", ["mediapipe", "dlib"])
def test_face_in_a_given_box_is_checked_as_a_detection_would_be(landmarker):
    """face_in_box: the annotated face of takeo in its landmarks' box, within
    the detector's error bound and unflagged; the same box shrunk below the
    smallest usable face is flagged face_too_small, as a detection would be."""
    if landmarker == "dlib":
        pytest.importorskip("dlib")
    from tfface.faces.landmarks import make_landmarker
    path = shared_path("faces", "takeo.ppm")
    photo, truth = read_image(path), read_pts(os.path.splitext(path)[0] + ".pts")
    found = make_landmarker(landmarker)
    box = np.concatenate([truth.min(0), truth.max(0)])
    face = found.face_in_box(photo, box)
    assert face.problem is None and face.score == 1.0
    error = np.linalg.norm(face.landmarks - truth, axis=1).mean() / _eye_corner_distance(truth)
    assert error < LANDMARK_BOUNDS[landmarker], error
    np.testing.assert_array_equal(found.landmarks_in_box(photo, box), face.landmarks)
    centre = truth.mean(0)
    tiny = found.face_in_box(photo, np.concatenate([centre - 15, centre + 15]), score=0.7)
    assert tiny.problem == "face_too_small" and tiny.score == 0.7


@pytest.mark.parametrize("name", PHOTOS)
def test_alignment_round_trip_and_pixels(name):
    path = shared_path("faces", name)
    photo = read_image(path)
    truth = read_pts(os.path.splitext(path)[0] + ".pts")
    aligned = align_face(photo, truth, 128)
    # Landmarks back in the photo within 1 px (here: to rounding).
    assert np.abs(aligned.to_photo(aligned.landmarks) - truth).max() < 1e-6
    # The crop centroid sits on the template centroid.
    np.testing.assert_allclose(aligned.landmarks.mean(0),
                               (default_template() * 128 - 0.5).mean(0), atol=1e-6)
    # Crop pixels are the photo's pixels at the mapped positions (checked
    # where the photo is smooth, with an independent bilinear lookup).
    inverse = aligned.inverse
    blurred = cv2.GaussianBlur(photo, (0, 0), 3 / aligned.transform[0, 0])
    smooth_crop = align_face(blurred, truth, 128).crop.astype(float)
    ys, xs = np.mgrid[40:90:7, 40:90:7]
    points = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    in_photo = points @ inverse[:, :2].T + inverse[:, 2]
    lookup = cv2.remap(blurred, in_photo[:, :1].astype(np.float32), in_photo[:, 1:].astype(
        np.float32), cv2.INTER_LINEAR).reshape(-1, 3).astype(float)
    assert np.abs(lookup - smooth_crop[ys.ravel(), xs.ravel()]).mean() < 3.0


@pytest.mark.parametrize("degrees", [30, 100, -150])
def test_alignment_scale_does_not_depend_on_roll_and_levelling_undoes_it(degrees):
    from tfface.faces.align import alignment_transform, apply_transform
    truth = read_pts(shared_path("faces", "takeo.pts"))
    rotation = cv2.getRotationMatrix2D(tuple(truth.mean(0)), degrees, 1.0)  # counter-clockwise
    rolled = truth @ rotation[:, :2].T + rotation[:, 2]
    (upright, upright_roll), (turned, roll) = (alignment_transform(points, 128, default_template())
                                               for points in (truth, rolled))
    assert turned[0, 0] == pytest.approx(upright[0, 0], rel=1e-9) and turned[0, 0] > 0
    assert turned[0, 1] == turned[1, 0] == 0  # not rotated unless asked
    assert np.degrees(roll - upright_roll) == pytest.approx(degrees, abs=1e-6)
    levelled, _ = alignment_transform(rolled, 128, default_template(), level=True)
    level_upright, _ = alignment_transform(truth, 128, default_template(), level=True)
    np.testing.assert_allclose(apply_transform(levelled, rolled),
                               apply_transform(level_upright, truth), atol=1e-6)


@pytest.mark.parametrize("landmarks, message", [
    (np.zeros((5, 2)), r"landmarks: shape \[5, 2\], expected \[68, 2\]"),
    (np.where(np.arange(136).reshape(68, 2) == 61, np.nan, np.arange(136.0).reshape(68, 2)),
     "landmarks: NaN or infinite"),
    (np.full((68, 2), 40.0), "landmarks: all within 0 x 0 px"),
])
def test_alignment_rejects_landmarks_it_cannot_align_to(landmarks, message):
    from tfface.faces.align import align_face
    with pytest.raises(ValueError, match=message):
        align_face(np.zeros((100, 100, 3), np.uint8), landmarks, 64)


def _write(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)


def test_read_image_formats_and_reasons(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    _write(tmp_path / "gray.png", rgb[..., 0])
    _write(tmp_path / "rgba.png", np.dstack([rgb, np.full((30, 40), 7, np.uint8)]))
    _write(tmp_path / "deep.png", rgb[..., 0].astype(np.uint16) * 257)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    yy, xx = np.mgrid[0:30, 0:40]
    ramps = np.dstack([xx * 6, yy * 8, np.full_like(xx, 128)]).astype(np.uint8)
    Image.fromarray(ramps).save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    gray = read_image(str(tmp_path / "gray.png"))
    assert gray.shape == (30, 40, 3) and (gray[..., 0] == rgb[..., 0]).all()
    np.testing.assert_array_equal(read_image(str(tmp_path / "rgba.png")), rgb)
    np.testing.assert_array_equal(read_image(str(tmp_path / "deep.png"))[..., 1], rgb[..., 0])
    rotated = read_image(str(tmp_path / "rotated.jpg"))
    assert rotated.shape == (40, 30, 3)  # upright: EXIF orientation applied
    assert np.abs(rotated.astype(int) - np.rot90(ramps, -1)).mean() < 3  # JPEG noise

    (tmp_path / "notes.jpg").write_text("not an image")
    data = (tmp_path / "rotated.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    expected = {"missing.jpg": "missing", "notes.jpg": "not_an_image", "cut.jpg": "truncated"}
    for name, reason in expected.items():
        with pytest.raises(ImageReadError) as error:
            read_image(str(tmp_path / name))
        assert error.value.reason == reason and name in str(error.value)
    with pytest.raises(ImageReadError) as error:
        read_image(str(tmp_path / "gray.png"), max_megapixels=0.001)
    assert error.value.reason == "too_large"


def test_prepare_folder_with_bad_files(tmp_path):
    pytest.importorskip("dlib")
    from tfface.cli import main
    from tfface.data.records import records_dataset
    faces = shared_path("faces")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(os.path.join(faces, "takeo.ppm"), photos)
    shutil.copy(os.path.join(faces, "takeo.pts"), photos)
    shutil.copy(os.path.join(faces, "breakingbad.jpg"), photos)  # no .pts: detected
    data = open(os.path.join(faces, "breakingbad.jpg"), "rb").read()
    (photos / "corrupt.jpg").write_bytes(data[:len(data) // 3])
    (photos / "readme.csv").write_text("a,b\n")
    ramp = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))
    _write(photos / "sky.png", np.dstack([ramp] * 3))
    out = tmp_path / "shards"
    args = ["prepare", "--images", str(photos), "--out", str(out), "--size", "96",
            "--shard-size", "3", "--workers", "2"]  # two shards, two processes
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    reasons = {os.path.basename(s["file"]): s["reason"] for s in manifest["skips"]}
    assert reasons == {"corrupt.jpg": "truncated", "readme.csv": "not_an_image",
                       "sky.png": "no_face"}
    used = {os.path.basename(u["file"]): u for u in manifest["used_files"]}
    assert used["takeo.ppm"]["landmarks"] == "pts" and used["breakingbad.jpg"]["faces"] >= 1
    assert manifest["examples"] == 1 + used["breakingbad.jpg"]["faces"]
    assert sorted(os.listdir(out)) == [OUTPUT_MARKER, "manifest.json", "shard-00000.tfrecord",
                                       "shard-00000.tfrecord.json", "shard-00001.tfrecord",
                                       "shard-00001.tfrecord.json"]
    images, labels = next(iter(records_dataset(str(out), 96, batch_size=manifest["examples"],
                                               augment=False)))
    landmarks = labels["landmarks"]
    assert images.shape == (manifest["examples"], 96, 96, 3)
    template = default_template() * 96 - 0.5
    # every crop is aligned: its landmarks lie near the template
    assert np.abs(landmarks.numpy() - template).mean(axis=(1, 2)).max() < 6
    # Re-running resumes: finished shards are kept as they are ...
    stamp = os.path.getmtime(out / "shard-00000.tfrecord")
    assert main(args) == 0
    assert os.path.getmtime(out / "shard-00000.tfrecord") == stamp
    # ... unless made with other settings: then they are written again.
    assert main(args + ["--jaw", "outline"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert {u["jaw"] for u in manifest["used_files"]} == {"outline"}
    assert manifest["examples"] == 1 + used["breakingbad.jpg"]["faces"]


def test_prepare_aligns_for_the_named_model_and_training_checks_it(tmp_path):
    from tfface.cli import main
    from tfface.config import load_config
    from tfface.data.records import records_dataset
    from tfface.faces.align import mean_face_template
    from tfface.morphable import demo_model
    from tfface.training import build_dataset
    from tfface.layers import Renderer
    faces = shared_path("faces")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("takeo.ppm", "takeo.pts"):
        shutil.copy(os.path.join(faces, name), photos)
    out = tmp_path / "shards"
    assert main(["prepare", "--images", str(photos), "--out", str(out), "--size", "64",
                 "--morphable-model", "demo"]) == 0
    assert json.loads((out / "manifest.json").read_text())["morphable_model"] == "demo"
    _, labels = next(iter(records_dataset(str(out), 64, batch_size=1, augment=False)))
    landmarks = labels["landmarks"]
    demo_template = mean_face_template(demo_model()) * 64 - 0.5
    ict_template = default_template() * 64 - 0.5
    found = landmarks.numpy()[0]
    assert np.abs(found - demo_template).mean() < 0.5 * np.abs(found - ict_template).mean()
    config = load_config(None, ["data.source=tfrecord", f"data.path={out}",
                                "model.input_size=64"])
    renderer = Renderer.from_model(demo_model(), (64, 64))
    with pytest.raises(TfFaceError, match="aligned for morphable model 'demo'.*trains 'ict'"):
        build_dataset(config, renderer)


def test_prepare_records_the_vertices_each_annotation_marks(tmp_path):
    """Shards keep, per face, the model vertices its landmarks mark by the
    jaw convention (--jaw; .pts default contour): outline -> the frontal
    outline's vertices, fixed -> the model's own, contour -> jaw vertices
    on each point's contour line; the inner points always the model's own."""
    from tfface.cli import main
    from tfface.data.records import records_dataset
    from tfface.fitting.contour import contour_lines, outline_landmarks
    from tfface.morphable import default_model
    faces = shared_path("faces")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("takeo.ppm", "takeo.pts"):
        shutil.copy(os.path.join(faces, name), photos)
    model = default_model()
    recorded = {}
    for jaw in (None, "outline", "fixed"):
        out = tmp_path / f"shards_{jaw}"
        assert main(["prepare", "--images", str(photos), "--out", str(out), "--size", "64",
                     "--workers", "1"] + ([] if jaw is None else ["--jaw", jaw])) == 0
        entry = json.loads((out / "manifest.json").read_text())["used_files"][0]
        assert entry["jaw"] == (jaw or "contour")
        _, labels = next(iter(records_dataset(str(out), 64, batch_size=1, augment=False)))
        recorded[jaw] = labels["landmark_vertices"].numpy()[0]
    np.testing.assert_array_equal(recorded["outline"], outline_landmarks(model))
    np.testing.assert_array_equal(recorded["fixed"], model.landmark_indices)
    contour = recorded[None]
    np.testing.assert_array_equal(contour[17:], model.landmark_indices[17:])
    assert all(contour[k] in line for k, line in enumerate(contour_lines(model)))
    assert np.sum(contour[:17] != model.landmark_indices[:17]) >= 8
