"""The shipped ICT-FaceKit model: packaged arrays, float16 error, landmark re-pick,
the albedo basis; AFLW2000-3D pose conventions on our renders; real eval photos."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import shared_path
from tfface.morphable import MorphableModel, default_model, load_model
from tfface.morphable.albedo import MEAN_SKIN, SPATIAL_SD, laplacian_modes
from tfface.morphable.default import DEFAULT_MODEL_PATH, FLOAT16_TOLERANCE_MM, ibug_landmarks


def test_shipped_model_is_ict_with_arkit_names_uvs_and_albedo():
    model = load_model()
    assert model is default_model() and os.path.isfile(DEFAULT_MODEL_PATH)
    assert (model.num_vertices, model.num_identity, model.num_expression) == (9409, 100, 53)
    assert {"jawOpen", "mouthSmile_L", "eyeBlink_R"} <= set(model.expression_names)
    assert model.uv.shape == (9547, 2) and model.uv_triangles.shape == model.triangles.shape
    assert 0.0 <= model.uv.min() and model.uv.max() <= 1.0
    assert np.allclose(model.mean_albedo, MEAN_SKIN, atol=1e-6)
    licence = os.path.join(os.path.dirname(DEFAULT_MODEL_PATH), "licenses",
                           "ICT-FaceKit-LICENSE")
    assert "MIT License" in open(licence, encoding="utf-8").read()


def test_shipped_model_matches_the_original_within_float16_error():
    original = MorphableModel.load(shared_path("models", "ict", "ict_face.npz"))
    model = default_model()
    rng = np.random.default_rng(5)
    for _ in range(3):
        identity, expression = rng.normal(size=100) * 2, rng.uniform(0, 1, 53)
        error = np.abs(model.shape(identity, expression) - original.shape(identity, expression))
        assert error.max() < FLOAT16_TOLERANCE_MM
    assert np.array_equal(model.triangles, original.triangles)
    changed = np.flatnonzero(model.landmark_indices != original.landmark_indices)
    assert set(changed) <= {21, 22, 28, 29}


def test_landmark_repick_follows_its_rules():
    model = default_model()
    points = model.mean_shape[model.landmark_indices]
    for brow, eye in ((21, 39), (22, 42)):  # inner brow ends above the inner eye corners
        assert abs(points[brow, 0] - points[eye, 0]) < 1.5
    heights = points[27:31, 1]
    assert np.allclose(np.diff(heights), np.diff(heights).mean(), atol=1.5)  # evenly spaced
    assert np.abs(points[27:31, 0]).max() < 1.0  # on the ridge
    again = ibug_landmarks(model.mean_shape, model.landmark_indices)
    assert np.array_equal(again, model.landmark_indices)  # a fixed point


def test_albedo_basis_is_smooth_orthogonal_and_in_range():
    model = default_model()
    basis = model.albedo_basis.reshape(model.num_vertices, 3, -1)
    spatial = basis[:, 0, 3:] * np.sqrt(3.0)  # lightness modes, per vertex
    gram = spatial.T @ spatial / model.num_vertices
    assert np.allclose(np.diag(gram), SPATIAL_SD ** 2, rtol=0.01)
    assert np.abs(gram - np.diag(np.diag(gram))).max() < 0.02 * SPATIAL_SD ** 2
    # smooth: neighbours differ far less than random values of the same spread
    edges = model.triangles[:, :2]
    # (random values of this spread: 1.13 s.d.; measured 0.07 s.d.)
    assert np.abs(spatial[edges[:, 0]] - spatial[edges[:, 1]]).mean() < 0.1 * SPATIAL_SD
    for sign in (-2, 2):  # +-2 s.d. of skin tone stays a valid albedo
        coefficients = np.zeros(model.num_albedo)
        coefficients[0] = sign
        albedo = model.albedo(coefficients)
        assert 0.0 < albedo.min() and albedo.max() < 1.0


def test_laplacian_modes_of_a_path_are_cosines():
    n = 50  # a strip of triangles: its smoothest functions vary along its length
    top, bottom = np.arange(n), np.arange(n, 2 * n)
    triangles = np.concatenate([np.stack([top[:-1], bottom[:-1], top[1:]], 1),
                                np.stack([top[1:], bottom[:-1], bottom[1:]], 1)])
    mode = laplacian_modes(triangles, 2 * n, 1)[:, 0]
    along = np.concatenate([np.arange(n), np.arange(n)])
    assert abs(np.corrcoef(mode, np.cos(np.pi * (along + 0.5) / n))[0, 1]) > 0.98


def test_aflw_pose_convention_on_our_renders():
    from scipy.spatial.transform import Rotation

    from tfface.evaluation import aflw_matrix, aflw_pose
    from tfface.layers import Renderer
    model = default_model()
    renderer = Renderer.from_model(model, (128, 128))
    layout = renderer.layout
    rotation = layout.slices["rotation"]
    params = layout.zeros(4)
    params[1, rotation] = np.radians([0, 30, 0])   # tfface yaw: towards the image right
    params[2, rotation] = np.radians([-20, 0, 0])  # tfface pitch < 0: chin up
    params[3, rotation] = np.radians([0, 0, -15])  # tfface roll < 0: clockwise on screen
    points = renderer.compute_for_render(params)["landmarks2d"].numpy()
    angles = [aflw_pose(dict(zip(("pitch", "yaw", "roll"), np.degrees(p[rotation]))))
              for p in params]
    # AFLW: yaw > 0 = towards the image left; pitch > 0 = looking up; roll > 0 = clockwise
    assert points[1, 30, 0] > points[0, 30, 0] + 5 and angles[1]["yaw"] == pytest.approx(-30, abs=1e-3)
    assert points[2, 30, 1] < points[0, 30, 1] - 3 and angles[2]["pitch"] == pytest.approx(20, abs=1e-3)
    assert points[3, 45, 1] > points[3, 36, 1] + 3 and angles[3]["roll"] == pytest.approx(15, abs=1e-3)
    for p, a in zip(params, angles):  # round trip through the dataset's own matrix
        matrix = aflw_matrix(*np.radians([a["pitch"], a["yaw"], a["roll"]]))
        assert np.allclose(matrix, Rotation.from_euler("xyz", p[rotation]).as_matrix(), atol=1e-9)


def test_aflw_reader_converts_points_and_finds_subset_files(tmp_path, monkeypatch):
    """The reader's 1-based -> 0-based conversion and both ways of naming a
    subset: a name inside the dataset folder, or a path from the working
    directory (as typed on the command line)."""
    import json

    from tfface.evaluation import aflw2000
    folder = tmp_path / "aflw"
    folder.mkdir()
    entry = {"image": "image00002.jpg", "pts68_3d": [[1.0, 2.0, 5.0]] * 68,
             "pts68_reannotated_2d": [[3.0, 4.0]] * 68, "roi_box_3ddfa": [0, 0, 10, 10],
             "pose_raw_deg": {"yaw": 1.0, "pitch": 2.0, "roll": 3.0},
             "excluded_by_abs_raw_angle_gt_99": True, "yaw_bin_3ddfa": 2}
    (folder / "gt.json").write_text(json.dumps({"images": {"image00002": entry,
                                                           "image00004": entry}}))
    (folder / "inside.txt").write_text("image00004.jpg\n")
    (tmp_path / "mine.txt").write_text("image00002.jpg\n\n")
    monkeypatch.chdir(tmp_path)
    assert [i["stem"] for i in aflw2000(str(folder))] == ["image00002", "image00004"]
    assert [i["stem"] for i in aflw2000(str(folder), "inside.txt")] == ["image00004"]
    item, = aflw2000(str(folder), "mine.txt")
    assert item["stem"] == "image00002" and item["path"] == str(folder / "image00002.jpg")
    assert np.allclose(item["pts"], [0.0, 1.0]) and np.allclose(item["reannotated"], [3.0, 4.0])
    assert not item["pose_valid"] and item["yaw_bin"] == 2

@pytest.mark.parametrize("source, max_pose, max_nme", [("dataset", 6.0, 0.05),
                                                       ("mediapipe", 5.0, 0.06)])
def test_eval_photos_pose_and_landmarks_within_bounds(source, max_pose, max_nme):
    """Five AFLW2000-3D photos (three within 30 deg of yaw, two beyond 60)
    through encoder + landmark fit, with the dataset's 68 points or with
    ``tfface reconstruct``'s own (MediaPipe in the dataset's box, fitted with
    its point confidence): pose MAE and NME within bounds (measured 3.05 deg
    / 3.0 % and 3.16 deg / 4.2 %; the README has the full-set figures)."""
    from tfface.evaluation import aflw2000, aflw_pose, landmark_box, nme_3ddfa
    from tfface.faces import read_image
    from tfface.inference.reconstruct import FaceReconstructor
    folder = shared_path("eval", "aflw2000_3d")
    reconstructor = FaceReconstructor()
    errors, nmes = [], []
    for item in aflw2000(folder, "subset_150.txt", limit=150)[::30]:
        photo = read_image(item["path"])
        if source == "dataset":
            face, = reconstructor.reconstruct(photo, [item["pts"]], jaw="fixed")
        else:
            points = reconstructor.landmarker.landmarks_in_box(photo, landmark_box(item["box"]))
            face, = reconstructor.reconstruct(photo, [points], detected=True)
        pose = aflw_pose(face.pose)
        errors.append([abs(pose[k] - item["pose"][k]) for k in ("yaw", "pitch", "roll")])
        nmes.append(nme_3ddfa(face.landmarks2d, item["reannotated"]))
    assert np.mean(errors) < max_pose, errors
    assert np.mean(nmes) < max_nme, nmes
