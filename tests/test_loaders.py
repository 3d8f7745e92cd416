"""Model-format loaders: the real eos files, and small files in the real layouts."""

import numpy as np
import pytest
from scipy.io import savemat

from tfface.cli import main
from tfface.errors import ModelFileError
from tfface.morphable import MorphableModel
from tfface.morphable.bfm import load_bfm2009, load_bfm2017, load_bfm_front
from tfface.morphable.eos import load_eos_model, read_ibug_mapping
from tests.conftest import shared_path


def test_eos_loader_matches_the_published_npz_conversion():
    sfm = shared_path("models", "sfm")
    reference = np.load(f"{sfm}/sfm_3448.npz")
    model = load_eos_model(f"{sfm}/sfm_shape_3448.bin", f"{sfm}/expression_blendshapes_3448.bin",
                           reference["landmark_indices"])
    np.testing.assert_allclose(model.mean_shape, reference["mean_shape"], atol=1e-5)
    np.testing.assert_allclose(model.id_basis, reference["id_basis"], atol=1e-4)
    np.testing.assert_allclose(model.exp_basis, reference["exp_basis"], atol=1e-5)
    np.testing.assert_array_equal(model.triangles, reference["triangles"])
    assert list(model.expression_names) == list(reference["exp_names"])


def test_eos_errors_are_one_line(tmp_path):
    sfm = shared_path("models", "sfm")
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(open(f"{sfm}/sfm_shape_3448.bin", "rb").read()[:5000])
    with pytest.raises(ModelFileError, match="cut.bin: .*past the end|cut.bin: bad matrix"):
        load_eos_model(str(truncated), landmarks=np.arange(68))
    with pytest.raises(ModelFileError, match="jaw contour"):
        read_ibug_mapping(f"{sfm}/ibug_to_sfm.txt")


def _small(small_model):
    m = small_model
    return m, m.num_vertices


def test_bfm_front_layout(small_model, tmp_path):
    m, v = _small(small_model)
    path = str(tmp_path / "BFM_model_front.mat")
    savemat(path, {"meanshape": m.mean_shape.reshape(1, -1) / 100, "idBase": m.id_basis / 100,
                   "exBase": m.exp_basis / 100, "meantex": m.mean_albedo.reshape(1, -1) * 255,
                   "texBase": m.albedo_basis * 255, "tri": m.triangles + 1,
                   "keypoints": (m.landmark_indices + 1).reshape(1, -1).astype(float)})
    loaded = load_bfm_front(path)
    np.testing.assert_allclose(loaded.mean_shape, m.mean_shape, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(loaded.exp_basis, m.exp_basis, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loaded.mean_albedo, m.mean_albedo, atol=1e-5)
    np.testing.assert_array_equal(loaded.triangles, m.triangles)
    np.testing.assert_array_equal(loaded.landmark_indices, m.landmark_indices)


def test_bfm2009_with_exp_pca_crops_to_expression_vertices(small_model, tmp_path):
    m, v = _small(small_model)
    rng = np.random.default_rng(1)
    ev = rng.uniform(1, 2, 4)
    savemat(tmp_path / "01_MorphableModel.mat", {
        "shapeMU": m.mean_shape.reshape(-1, 1) * 1e3, "shapePC": m.id_basis / ev * 1e3,
        "shapeEV": ev.reshape(-1, 1), "texMU": m.mean_albedo.reshape(-1, 1) * 255,
        "texPC": m.albedo_basis * 255, "texEV": np.ones((2, 1)), "tl": m.triangles + 1})
    keep = np.arange(0, v, 2)  # expression model covers every other vertex
    k, std = 3, np.array([2.0, 1.0, 0.5])
    exp = rng.normal(size=(k, 3 * len(keep))).astype(np.float32)
    with open(tmp_path / "Exp_Pca.bin", "wb") as handle:
        handle.write(np.int32(k).tobytes() + np.zeros(3 * len(keep), np.float32).tobytes()
                     + exp.tobytes())
    np.savetxt(tmp_path / "std_exp.txt", std)
    savemat(tmp_path / "BFM_exp_idx.mat", {"trimIndex": (keep + 1).reshape(-1, 1)})
    lms = keep[:68]
    model = load_bfm2009(str(tmp_path / "01_MorphableModel.mat"), str(tmp_path / "Exp_Pca.bin"), lms)
    assert model.num_vertices == len(keep)
    np.testing.assert_allclose(model.mean_shape, m.mean_shape[keep], atol=1e-3)
    np.testing.assert_allclose(model.exp_basis, exp.T * std * 1e-3, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.landmark_indices, np.arange(68))
    kept = np.isin(m.triangles, keep).all(1)
    assert model.num_triangles == kept.sum()
    np.testing.assert_array_equal(keep[model.triangles], m.triangles[kept])


def test_bfm2017_h5_layout(small_model, tmp_path):
    import h5py
    m, v = _small(small_model)
    path = str(tmp_path / "model2017-1_bfm_nomouth.h5")
    var = np.array([4.0, 1.0, 0.25, 1.0])
    with h5py.File(path, "w") as f:
        f["shape/model/mean"] = m.mean_shape.reshape(-1)
        f["shape/model/pcaBasis"] = m.id_basis / np.sqrt(var)
        f["shape/model/pcaVariance"] = var
        f["shape/representer/cells"] = m.triangles.T
        f["expression/model/mean"] = np.zeros(3 * v)
        f["expression/model/pcaBasis"] = m.exp_basis
        f["expression/model/pcaVariance"] = np.ones(3)
        f["color/model/mean"] = m.mean_albedo.reshape(-1)
        f["color/model/pcaBasis"] = m.albedo_basis
        f["color/model/pcaVariance"] = np.ones(2)
    loaded = load_bfm2017(path, m.landmark_indices)
    np.testing.assert_allclose(loaded.id_basis, m.id_basis, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(loaded.triangles, m.triangles)
    with pytest.raises(ModelFileError, match="--landmarks"):
        load_bfm2017(path)


def test_convert_model_command(tmp_path, capsys):
    sfm = shared_path("models", "sfm")
    ids = tmp_path / "ids.txt"
    np.savetxt(ids, np.load(f"{sfm}/sfm_3448.npz")["landmark_indices"], fmt="%d")
    out = tmp_path / "sfm.npz"
    assert main(["convert-model", "eos", f"{sfm}/sfm_shape_3448.bin", "--expressions",
                 f"{sfm}/expression_blendshapes_3448.bin", "--landmarks", str(ids),
                 "--out", str(out)]) == 0
    assert MorphableModel.load(str(out)).num_expression == 6
    assert main(["convert-model", "eos", str(tmp_path / "nope.bin"), "--out", str(tmp_path / "x.npz")]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfface: error:") and "nope.bin" in err and "\n" not in err
    assert not (tmp_path / "x.npz").exists()


def _write_obj(path, vertices, quads=None):
    with open(path, "w") as handle:
        handle.write("mtllib ICTFaceModelMaterial.mtl\n")
        for v in vertices:
            handle.write("v %.9f %.9f %.9f\n" % tuple(v))
            handle.write("vt 0.5 0.5\n")
        for q in quads if quads is not None else []:
            handle.write("f " + " ".join(f"{i + 1}/{i + 1}" for i in q) + "\n")


def test_ict_facekit_folder_layout(tmp_path):
    import json

    from tfface.morphable import ict
    rng = np.random.default_rng(2)
    n = 10  # a 10 x 10 grid of quads; the "face region" is its first 60 vertices
    grid = np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2)
    neutral = np.concatenate([grid, np.zeros((n * n, 1))], 1).astype(float)
    quads = [(r * n + c, r * n + c + 1, (r + 1) * n + c + 1, (r + 1) * n + c)
             for r in range(n - 1) for c in range(n - 1)]
    _write_obj(tmp_path / "generic_neutral_mesh.obj", neutral, quads)
    ids = [rng.normal(size=neutral.shape) for _ in range(3)]
    names = ["jawOpen", "mouthSmile_L"]
    exps = [rng.normal(size=neutral.shape) for _ in names]
    for i, d in enumerate(ids):
        _write_obj(tmp_path / f"identity{i:03d}.obj", neutral + d, quads)
    for name, d in zip(names, exps):
        _write_obj(tmp_path / f"{name}.obj", neutral + d, quads)
    landmarks = rng.choice(60, 68)
    (tmp_path / "vertex_indices.json").write_text(json.dumps(
        {"expressions": names, "idx_to_landmark_verts": landmarks.tolist()}))

    model = ict.load_ict_facekit(str(tmp_path), face_only=False)
    assert (model.num_vertices, model.num_identity, model.num_expression) == (100, 3, 2)
    assert model.num_triangles == 2 * len(quads) and model.expression_names == tuple(names)
    np.testing.assert_allclose(model.mean_shape, neutral * 10, atol=1e-5)
    np.testing.assert_allclose(model.id_basis[:, 1], ids[1].reshape(-1) * 10, atol=1e-4)
    np.testing.assert_allclose(model.exp_basis[:, 0], exps[0].reshape(-1) * 10, atol=1e-4)
    np.testing.assert_array_equal(model.landmark_indices, landmarks)

    ict_face_region = ict.FACE_REGION_VERTICES
    try:
        ict.FACE_REGION_VERTICES = 60
        cropped = ict.load_ict_facekit(str(tmp_path))
    finally:
        ict.FACE_REGION_VERTICES = ict_face_region
    assert cropped.num_vertices == 60 and cropped.triangles.max() < 60
    assert cropped.num_triangles == 2 * 5 * (n - 1)

    (tmp_path / "vertex_indices.json").write_text("{}")
    with pytest.raises(ModelFileError, match="vertex_indices.json: no valid"):
        ict.load_ict_facekit(str(tmp_path))
