"""Data pipelines: TFRecord shards, photo folders with .pts, augmentation geometry."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfface.data.augment import augment
from tfface.data.folder import load_folder, read_pts, write_pts
from tfface.faces.align import default_template
from tfface.data.records import make_example, records_dataset, shard_path, write_shard
from tfface.errors import TfFaceError
from tests.conftest import shared_path


def test_tfrecord_shards_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    landmarks = rng.uniform(0, 31, (6, 68, 2)).astype(np.float32)
    vertices = [None if i % 2 else np.arange(68) * 10 + i for i in range(6)]
    for shard in range(2):
        count = write_shard(shard_path(str(tmp_path), shard), (
            make_example(images[i], landmarks[i], f"photo{i}.jpg", landmark_vertices=vertices[i])
            for i in range(3 * shard, 3 * shard + 3)))
        assert count == 3
    assert sorted(os.listdir(tmp_path)) == ["shard-00000.tfrecord", "shard-00001.tfrecord"]
    data = records_dataset(str(tmp_path), 32, batch_size=6, augment=False, repeat=False)
    image, labels = next(iter(data))
    lms, ids = labels["landmarks"], labels["landmark_vertices"]
    assert image.shape == (6, 32, 32, 3) and lms.shape == (6, 68, 2) and ids.shape == (6, 68)
    # Shuffled: match each decoded image to its source by content.
    for b in range(6):
        source = int(np.argmin(np.abs(images.astype(float) - image[b].numpy()).sum((1, 2, 3))))
        np.testing.assert_array_equal(image[b].numpy(), images[source])
        np.testing.assert_allclose(lms[b].numpy(), landmarks[source], atol=1e-5)
        expected = np.full(68, -1) if vertices[source] is None else vertices[source]
        np.testing.assert_array_equal(ids[b].numpy(), expected)  # -1: the model's own
    resized = next(iter(records_dataset(str(tmp_path), 64, 6, augment=False, repeat=False)))
    assert resized[0].shape == (6, 64, 64, 3)


def test_augmentation_moves_landmarks_with_the_image():
    image = np.zeros((64, 64, 3), np.float32)
    landmarks = np.tile(np.array([[20.0, 30.0]], np.float32), (68, 1))
    image[29:32, 19:22] = 255.0  # a bright 3x3 dot centred on the landmark
    for seed in range(5):
        out, moved = augment(tf.constant(image), tf.constant(landmarks), tf.constant([seed, 1]))
        brightness = out.numpy().sum(-1)
        y, x = np.unravel_index(np.argmax(brightness), brightness.shape)
        assert np.hypot(x - moved[0, 0], y - moved[0, 1]) <= 1.5


def test_synthetic_arrays_carry_their_true_params_through_augmentation():
    """Arrays with ``params`` batch as ``(image, {"landmarks", "params"})``:
    augmentation moves image and landmarks alike (as without params) and
    leaves the params, the face's true shape, as they were."""
    from tfface.data.pipeline import arrays_dataset
    rng = np.random.default_rng(0)
    arrays = {"image": rng.uniform(0, 255, (4, 32, 32, 3)).astype(np.float32),
              "landmarks": rng.uniform(0, 31, (4, 68, 2)).astype(np.float32),
              "params": np.arange(4 * 5, dtype=np.float32).reshape(4, 5)}
    image, labels = next(iter(arrays_dataset(arrays, 4, seed=1, augment=True,
                                             shuffle=False, repeat=False)))
    landmarks, params = labels["landmarks"], labels["params"]
    without = {k: v for k, v in arrays.items() if k != "params"}
    plain_image, plain_landmarks = next(iter(arrays_dataset(without, 4, seed=1, augment=True,
                                                            shuffle=False, repeat=False)))
    np.testing.assert_array_equal(params.numpy(), arrays["params"])
    np.testing.assert_allclose(landmarks.numpy(), plain_landmarks.numpy(), atol=1e-5)
    np.testing.assert_allclose(image.numpy(), plain_image.numpy(), atol=1e-3)
    assert np.abs(landmarks.numpy() - arrays["landmarks"]).max() > 0.1  # augmented


def test_pts_files_count_pixels_from_one(tmp_path):
    """300-W's convention (menpo's too): the top-left pixel centre is (1, 1)."""
    points = np.arange(136, dtype=float).reshape(68, 2) / 4
    path = tmp_path / "face.pts"
    lines = [f"{x + 1} {y + 1}" for x, y in points]
    path.write_text("version: 1\nn_points: 68\n{\n" + "\n".join(lines) + "\n}\n")
    np.testing.assert_allclose(read_pts(str(path)), points)
    write_pts(str(tmp_path / "again.pts"), points)
    assert (tmp_path / "again.pts").read_text().splitlines()[3] == "1.000 1.250"
    np.testing.assert_allclose(read_pts(str(tmp_path / "again.pts")), points, atol=1e-3)


@pytest.mark.parametrize("content, message", [
    (b"garbage", "no { ... } block of points"),
    (b"version: 1\n{\n1 2\n3 4 5\n}\n", "point 2 is '3 4 5', not 'x y'"),
    (b"version: 1\n{\n1 x\n}\n", "point 1 is '1 x', not 'x y'"),
    (b"version: 1\n{\n1 2\nnan 4\n}\n", "point 2 is 'nan 4', not 'x y' (two finite numbers)"),
    (b"version: 1\n{\n1 2\n}\n", "1 points, expected 68"),
    (b"\xff\xfe\x00", "not a text file"),
])
def test_bad_pts_files_are_named_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "face.pts"
    path.write_bytes(content)
    with pytest.raises(TfFaceError) as error:
        read_pts(str(path))
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_pts_file_must_lie_on_its_photo(tmp_path):
    from tfface.data.folder import read_photo_pts
    points = read_pts(shared_path("faces", "takeo.pts"))
    points -= points.min(0)  # the face in the photo's top-left corner
    photo = np.zeros((int(points[:, 1].max()) + 5, int(points[:, 0].max()) + 5, 3), np.uint8)
    path = str(tmp_path / "face.pts")
    for shift, accepted in ((0, True), (-0.3, True), (-0.7, False)):  # in face widths, leftwards
        moved = points + [shift * np.ptp(points[:, 0]), 0]
        write_pts(path, moved)
        if accepted:  # a face cut off by the frame keeps its points
            np.testing.assert_allclose(read_photo_pts(path, photo), moved, atol=1e-3)
        else:
            with pytest.raises(TfFaceError, match="points lie outside the photo"):
                read_photo_pts(path, photo)


def test_photo_folder_with_pts_gives_aligned_crops():
    folder = shared_path("faces")
    points = read_pts(os.path.join(folder, "takeo.pts"))
    assert points.shape == (68, 2)
    arrays = load_folder(folder, 128)
    assert arrays["image"].shape == (2, 128, 128, 3)
    lms = arrays["landmarks"]
    assert lms.min() > 0 and lms.max() < 127  # the face lies inside the crop
    # Aligned onto the mean-face template by the scale of the least-squares
    # similarity + a shift: an independent Umeyama fit (SVD of the cross-
    # covariance) from the crop's landmarks to the template finds scale 1 and
    # the centroids coincide.
    target = default_template() * 128 - 0.5
    for face in lms:
        source, goal = face - face.mean(0), target - target.mean(0)
        u, singular, vt = np.linalg.svd(source.T @ goal)
        sign = np.sign(np.linalg.det(vt.T @ u.T))
        scale = (singular[0] + sign * singular[1]) / (source ** 2).sum()
        assert scale == pytest.approx(1.0, abs=1e-3)
        np.testing.assert_allclose(face.mean(0), target.mean(0), atol=1e-3)
    assert "landmark_vertices" not in arrays  # no fitter: the model's own


def test_photo_folder_source_labels_the_vertices_its_jaw_convention_marks():
    """data.source=folder: each face's labels carry the model vertices its
    landmarks mark under data.jaw (here outline: the frontal outline's)."""
    from tfface.config import load_config
    from tfface.fitting.contour import outline_landmarks
    from tfface.layers import Renderer
    from tfface.morphable import default_model
    from tfface.training import build_dataset
    config = load_config(None, ["data.source=folder", f"data.path={shared_path('faces')}",
                                "data.jaw=outline", "data.batch_size=2", "data.augment=false",
                                "model.input_size=64"])
    _, labels = next(iter(build_dataset(config, Renderer.from_model(default_model(), (64, 64)))))
    np.testing.assert_array_equal(labels["landmark_vertices"].numpy(),
                                  np.tile(outline_landmarks(default_model()), (2, 1)))
