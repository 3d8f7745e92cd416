import os

import numpy as np
import pytest
import trimesh

from tfface.errors import ModelFileError
from tfface.morphable import MorphableModel, demo_model, load_model
from tfface.morphable.demo import EXPRESSION_NAMES
from tests.conftest import shared_path


def _arrays(model):
    return dict(mean_shape=model.mean_shape, id_basis=model.id_basis, exp_basis=model.exp_basis,
                triangles=model.triangles, landmark_indices=model.landmark_indices)


@pytest.mark.parametrize("key, value, message", [
    ("mean_shape", lambda m: m.mean_shape[:, :2], "'mean_shape' has shape"),
    ("id_basis", lambda m: m.id_basis[:-1], "'id_basis' has shape"),
    ("triangles", lambda m: np.where(m.triangles == 5, 10 ** 6, m.triangles), "'triangles' has vertex index"),
    ("exp_basis", lambda m: np.where(np.arange(m.exp_basis.size).reshape(m.exp_basis.shape) == 7,
                                     np.nan, m.exp_basis), "'exp_basis' contains NaN"),
    ("landmark_indices", lambda m: m.landmark_indices[:60], "'landmark_indices' has shape"),
])
def test_validation_names_the_array(small_model, key, value, message):
    arrays = _arrays(small_model)
    arrays[key] = value(small_model)
    with pytest.raises(ModelFileError, match=message) as info:
        MorphableModel(**arrays, source="bad.npz")
    assert str(info.value).startswith("bad.npz:") and "\n" not in str(info.value)


def test_model_is_immutable_and_defaults_albedo(small_model):
    with pytest.raises(ValueError):
        small_model.mean_shape[0, 0] = 1.0
    plain = MorphableModel(**_arrays(small_model))
    assert plain.num_albedo == 0 and plain.mean_albedo.shape == (small_model.num_vertices, 3)


def test_npz_roundtrip_and_errors(small_model, tmp_path):
    path = str(tmp_path / "m.npz")
    small_model.save(path)
    loaded = MorphableModel.load(path)
    for key in ("mean_shape", "id_basis", "exp_basis", "mean_albedo", "albedo_basis",
                "triangles", "landmark_indices"):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(small_model, key))
    assert loaded.expression_names == small_model.expression_names
    assert os.listdir(tmp_path) == ["m.npz"]
    with pytest.raises(ModelFileError, match="no such model file"):
        MorphableModel.load(str(tmp_path / "missing.npz"))
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable .npz"):
        MorphableModel.load(str(tmp_path / "corrupt.npz"))


def test_model_file_is_loaded_once_per_version(small_model, tmp_path):
    path = str(tmp_path / "m.npz")
    small_model.save(path)
    first = load_model(path)
    assert load_model(path) is first  # training's renderer and template share it
    moved = MorphableModel(**{**_arrays(small_model), "mean_shape": small_model.mean_shape + 1})
    moved.save(path)
    os.utime(path, ns=(1, 1))  # a distinct modification time, whatever the clock resolution
    reloaded = load_model(path)
    assert reloaded is not first
    np.testing.assert_allclose(reloaded.mean_shape, small_model.mean_shape + 1)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(str(tmp_path / "missing.npz"))


def test_numpy_reference_evaluation(small_model):
    alpha, beta = np.array([1.0, 0, 0, 0]), np.array([0, 2.0, 0])
    expected = small_model.mean_shape + small_model.id_basis[:, 0].reshape(-1, 3) \
        + 2 * small_model.exp_basis[:, 1].reshape(-1, 3)
    np.testing.assert_allclose(small_model.shape(alpha, beta), expected, atol=1e-4)


def test_demo_model_is_deterministic_closed_and_face_like():
    model = demo_model()
    assert 2000 <= model.num_vertices <= 10000
    assert model.expression_names == EXPRESSION_NAMES
    for name in ("jawOpen", "mouthSmile_L", "browInnerUp", "eyeBlink_L"):
        assert name in model.expression_names
    mesh = trimesh.Trimesh(model.mean_shape, model.triangles, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    lm = model.mean_shape[model.landmark_indices]
    assert len(set(model.landmark_indices.tolist())) == 68
    # iBUG anatomy: eyes above nose tip above mouth above chin; left/right order.
    assert lm[36:48, 1].min() > lm[30, 1] > lm[48:68, 1].max() > lm[8, 1]
    assert lm[36, 0] < lm[39, 0] < 0 < lm[42, 0] < lm[45, 0]
    assert lm[30, 2] == pytest.approx(lm[:, 2].max(), abs=1.0)  # nose tip is frontmost
    # Expression semantics: jaw opening lowers the chin; blinking closes the lid.
    jaw = model.shape(expression=np.eye(model.num_expression)[0])
    assert jaw[model.landmark_indices[8], 1] < lm[8, 1] - 10
    blink = model.shape(expression=np.eye(model.num_expression)[6])
    lid = model.landmark_indices[44]  # left eye upper lid
    assert blink[lid, 1] < model.mean_shape[lid, 1] - 3


def test_demo_random_identity_modes_hold_no_head_rotation(demo):
    """A shape mode must not mimic a head rotation (pose would be ambiguous):
    the best rigid rotation (scipy's Kabsch) from the mean face to the mean
    face plus 3 s.d. of each random mode is the identity."""
    from scipy.spatial.transform import Rotation
    mean = demo.mean_shape - demo.mean_shape.mean(0)
    for k in range(13, demo.num_identity):
        moved = demo.shape(np.eye(demo.num_identity)[k] * 3.0, np.zeros(demo.num_expression))
        moved = moved - moved.mean(0)
        rotation, _ = Rotation.align_vectors(moved, mean)
        assert np.degrees(rotation.magnitude()) < 0.1, k  # before the fix: 0.12-1.9


def test_shared_sfm_npz_loads_without_albedo():
    model = MorphableModel.load(shared_path("models", "sfm", "sfm_3448.npz"))
    assert (model.num_vertices, model.num_identity, model.num_expression, model.num_albedo) == \
        (3448, 63, 6, 0)
    assert model.expression_names[3] == "happiness"


def test_shared_ict_npz_keeps_arkit_names():
    model = MorphableModel.load(shared_path("models", "ict", "ict_face.npz"))
    assert model.num_expression == 53 and "jawOpen" in model.expression_names


def test_uv_arrays_validate_and_round_trip(small_model, tmp_path):
    import dataclasses

    from tfface.errors import ModelFileError
    v, t = small_model.num_vertices, small_model.num_triangles
    per_vertex = dataclasses.replace(small_model, uv=np.full((v, 2), 0.5))
    assert np.array_equal(per_vertex.uv_triangles, small_model.triangles)
    with pytest.raises(ModelFileError, match="one UV per vertex"):
        dataclasses.replace(small_model, uv=np.zeros((v + 1, 2)))
    with pytest.raises(ModelFileError, match="uv_triangles"):
        dataclasses.replace(small_model, uv=np.zeros((4, 2)), uv_triangles=np.full((t, 3), 4))
    corners = dataclasses.replace(small_model, uv=np.random.default_rng(0).uniform(size=(3 * t, 2)),
                                  uv_triangles=np.arange(3 * t).reshape(t, 3))
    corners.save(str(tmp_path / "m.npz"))
    loaded = MorphableModel.load(str(tmp_path / "m.npz"))
    assert np.allclose(loaded.uv, corners.uv) and np.array_equal(loaded.uv_triangles,
                                                                 corners.uv_triangles)
