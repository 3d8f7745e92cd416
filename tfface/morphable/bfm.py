"""Loaders for the Basel Face Model files users own.

* BFM 2009 ``01_MorphableModel.mat``: ``shapeMU [3V,1]`` (micrometres),
  ``shapePC [3V,K]`` orthonormal, ``shapeEV [K,1]`` standard deviations,
  ``texMU``/``texPC``/``texEV`` (0..255), ``tl [T,3]`` 1-based. Optionally
  with Guo et al.'s expression basis ``Exp_Pca.bin`` (int32 K, float32 mean
  [3V'], float32 PCs [K, 3V'] over the V' = 53215 vertices listed (1-based)
  in ``BFM_exp_idx.mat``:``trimIndex``) and ``std_exp.txt`` (K values), both
  looked up next to ``Exp_Pca.bin``, as Deep3DFaceRecon's ``load_mats.py``.
* Deep3DFaceRecon ``BFM_model_front.mat``: ``meanshape [1,3V]``, ``idBase``,
  ``exBase`` (decimetres, already scaled), ``meantex [1,3V]``, ``texBase``
  (0..255), ``tri [T,3]`` and ``keypoints [1,68]`` (1-based).
* BFM 2017/2019 ``.h5``: ``shape|color|expression/model/{mean, pcaBasis,
  pcaVariance}``, ``shape/representer/cells [3,T]`` (mm, colours 0..1).

All are converted to mm, bases scaled to one s.d., albedo 0..1.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from tfface.errors import ModelFileError
from tfface.morphable.model import MorphableModel

_UM_TO_MM = 1e-3
_DM_TO_MM = 100.0


def _loadmat(path: str) -> dict:
    from scipy.io import loadmat
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such file; check the path")
    try:
        return loadmat(path)
    except Exception as error:  # scipy raises several types for bad files
        raise ModelFileError(f"{path}: not a readable MATLAB file ({type(error).__name__})") from None


def _need(data: dict, key: str, path: str) -> np.ndarray:
    if key not in data:
        raise ModelFileError(f"{path}: missing variable '{key}'; is this the right BFM file?")
    return np.asarray(data[key])


def _name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def read_exp_pca(path: str) -> np.ndarray:
    """Guo et al.'s ``Exp_Pca.bin`` -> basis ``[3V', K]`` scaled by ``std_exp.txt``."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror}); check the path") from None
    k = int(np.frombuffer(raw, np.int32, 1)[0])
    floats = np.frombuffer(raw, np.float32, offset=4)
    if k <= 0 or floats.size % (k + 1):
        raise ModelFileError(f"{path}: size does not fit an Exp_Pca.bin with {k} components")
    basis = floats[floats.size // (k + 1):].reshape(k, -1).T
    std_path = os.path.join(os.path.dirname(path), "std_exp.txt")
    if not os.path.isfile(std_path):
        raise ModelFileError(f"{std_path}: missing; Exp_Pca.bin needs its std_exp.txt beside it")
    std = np.loadtxt(std_path).reshape(-1)[:k]
    return basis * std[None, :]


def load_bfm2009(path: str, expressions: Optional[str] = None,
                 landmarks: Optional[np.ndarray] = None) -> MorphableModel:
    """BFM 2009 (+ optional ``Exp_Pca.bin``: the model is then cropped to its vertices)."""
    data = _loadmat(path)
    mean = _need(data, "shapeMU", path).reshape(-1) * _UM_TO_MM
    id_basis = _need(data, "shapePC", path) * _need(data, "shapeEV", path).reshape(1, -1) * _UM_TO_MM
    tex_mean = _need(data, "texMU", path).reshape(-1) / 255.0
    tex_basis = _need(data, "texPC", path) * _need(data, "texEV", path).reshape(1, -1) / 255.0
    triangles = _need(data, "tl", path).astype(np.int64) - 1
    exp_basis = None
    if expressions is not None:
        index_path = os.path.join(os.path.dirname(expressions), "BFM_exp_idx.mat")
        keep = _need(_loadmat(index_path), "trimIndex", index_path).reshape(-1).astype(np.int64) - 1
        exp_basis = read_exp_pca(expressions) * _UM_TO_MM
        if exp_basis.shape[0] != 3 * len(keep):
            raise ModelFileError(f"{expressions}: {exp_basis.shape[0] // 3} vertices but "
                                 f"{index_path} lists {len(keep)}")
        rows = (3 * keep[:, None] + np.arange(3)).reshape(-1)
        mean, id_basis, tex_mean, tex_basis = mean[rows], id_basis[rows], tex_mean[rows], tex_basis[rows]
        new_id = np.full(len(data["shapeMU"]) // 3, -1)
        new_id[keep] = np.arange(len(keep))
        mapped = new_id[triangles]
        triangles = mapped[(mapped >= 0).all(1)]
        if landmarks is not None:
            landmarks = new_id[np.asarray(landmarks)]
    if landmarks is None:
        raise ModelFileError(f"{path}: BFM 2009 has no 68-landmark list; pass --landmarks FILE "
                             "with 68 vertex ids (iBUG order)")
    return MorphableModel(
        mean_shape=mean.reshape(-1, 3), id_basis=id_basis, exp_basis=exp_basis,
        triangles=triangles, landmark_indices=landmarks, mean_albedo=tex_mean.reshape(-1, 3),
        albedo_basis=tex_basis, units="mm", name=_name(path), source=path)


def load_bfm_front(path: str) -> MorphableModel:
    """Deep3DFaceRecon's ``BFM_model_front.mat`` (35709 vertices, 68 keypoints)."""
    data = _loadmat(path)
    return MorphableModel(
        mean_shape=_need(data, "meanshape", path).reshape(-1, 3) * _DM_TO_MM,
        id_basis=_need(data, "idBase", path) * _DM_TO_MM,
        exp_basis=_need(data, "exBase", path) * _DM_TO_MM,
        triangles=_need(data, "tri", path).astype(np.int64) - 1,
        landmark_indices=_need(data, "keypoints", path).reshape(-1).astype(np.int64) - 1,
        mean_albedo=_need(data, "meantex", path).reshape(-1, 3) / 255.0,
        albedo_basis=_need(data, "texBase", path) / 255.0,
        units="mm", name=_name(path), source=path)


def load_bfm2017(path: str, landmarks: Optional[np.ndarray] = None) -> MorphableModel:
    """BFM 2017 / 2019 ``.h5`` (shape, colour and expression PCA models)."""
    import h5py
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such file; check the path")
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise ModelFileError(f"{path}: not a readable HDF5 file") from None
    with handle:
        def pca(group: str, scale: float):
            try:
                model = handle[f"{group}/model"]
                mean = np.asarray(model["mean"]).reshape(-1) * scale
                basis = np.asarray(model["pcaBasis"]) * np.sqrt(
                    np.asarray(model["pcaVariance"]).reshape(1, -1)) * scale
            except KeyError:
                raise ModelFileError(f"{path}: missing '{group}/model/{{mean,pcaBasis,pcaVariance}}'"
                                     "; is this a BFM 2017/2019 file?") from None
            return mean, basis

        mean, id_basis = pca("shape", 1.0)
        exp_mean, exp_basis = pca("expression", 1.0) if "expression" in handle else (0.0, None)
        tex = pca("color", 1.0) if "color" in handle else (None, None)
        try:
            triangles = np.asarray(handle["shape/representer/cells"]).T
        except KeyError:
            raise ModelFileError(f"{path}: missing 'shape/representer/cells'") from None
    if landmarks is None:
        raise ModelFileError(f"{path}: pass --landmarks FILE with 68 vertex ids (iBUG order); "
                             "BFM 2017 files do not carry the iBUG 68 points")
    return MorphableModel(
        mean_shape=(mean + exp_mean).reshape(-1, 3), id_basis=id_basis, exp_basis=exp_basis,
        triangles=triangles, landmark_indices=landmarks,
        mean_albedo=None if tex[0] is None else np.clip(tex[0].reshape(-1, 3), 0, 1),
        albedo_basis=tex[1], units="mm", name=_name(path), source=path)
