"""Loader for the eos / Surrey Face Model cereal binary files.

``sfm_shape_3448.bin`` is a cereal *binary* archive of
``eos::morphablemodel::MorphableModel`` (class version 1): the shape
``PcaModel`` (mean, orthonormal basis, eigenvalues, triangle list), the colour
``PcaModel`` (empty in the public SFM) and texture coordinates. Eigen
matrices are stored as int32 rows, int32 cols, then column-major float32.
``expression_blendshapes_3448.bin`` is a ``std::vector<Blendshape>``: uint64
count, then per blendshape a uint64-length name and a column vector.
The iBUG 68-point mapping comes from eos' ``ibug_to_sfm.txt``.
"""

from __future__ import annotations

import os
import re
import struct
from typing import List, Optional, Tuple

import numpy as np

from tfface.errors import ModelFileError
from tfface.morphable.model import NUM_LANDMARKS, MorphableModel


class _Reader:
    """Cursor over a little-endian cereal binary archive."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                self.data = handle.read()
        except OSError as error:
            raise ModelFileError(f"{path}: cannot read ({error.strerror}); check the path") from None
        self.offset = 0

    def _take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ModelFileError(f"{self.path}: file ends early at byte {self.offset}; "
                                 "it is truncated or not an eos model file")
        value = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return value

    def u32(self) -> int:
        return self._take("<I")[0]

    def u64(self) -> int:
        return self._take("<Q")[0]

    def matrix(self, dtype=np.float32) -> np.ndarray:
        rows, cols = self._take("<ii")
        count = rows * cols
        if rows < 0 or cols < 0 or self.offset + count * np.dtype(dtype).itemsize > len(self.data):
            raise ModelFileError(f"{self.path}: bad matrix header ({rows} x {cols}) at byte "
                                 f"{self.offset - 8}; not an eos model file")
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += count * np.dtype(dtype).itemsize
        return values.reshape(cols, rows).T  # Eigen is column-major

    def array_list(self, dtype, width: int) -> np.ndarray:
        count = self.u64()
        size = count * width * np.dtype(dtype).itemsize
        if self.offset + size > len(self.data):
            raise ModelFileError(f"{self.path}: list of {count} items runs past the end of file")
        values = np.frombuffer(self.data, dtype, count * width, self.offset)
        self.offset += size
        return values.reshape(count, width)

    def string(self) -> str:
        length = self.u64()
        text = self.data[self.offset:self.offset + length]
        self.offset += length
        return text.decode("utf-8", "replace")


def _pca_model(reader: _Reader) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mean = reader.matrix()[:, 0]
    basis = reader.matrix()
    eigenvalues = reader.matrix()
    triangles = reader.array_list(np.int32, 3)
    return mean, basis, eigenvalues.reshape(-1), triangles


def read_eos_blendshapes(path: str) -> Tuple[List[str], np.ndarray]:
    """Names and offsets ``[3V, K]`` from an eos blendshapes ``.bin``."""
    reader = _Reader(path)
    count = reader.u64()
    if count > 10000:
        raise ModelFileError(f"{path}: claims {count} blendshapes; not an eos blendshapes file")
    names, columns = [], []
    for _ in range(count):
        names.append(reader.string())
        columns.append(reader.matrix()[:, 0])
    return names, np.stack(columns, 1) if columns else np.zeros((0, 0), np.float32)


def read_ibug_mapping(path: str) -> np.ndarray:
    """68 vertex ids (0-based, iBUG order) from eos' ``ibug_to_sfm.txt`` (TOML)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror}); check the path") from None
    pairs = {int(a): int(b) for a, b in re.findall(r'^\s*(\d+)\s*=\s*(\d+)', text, re.M)}
    missing = [i for i in range(1, NUM_LANDMARKS + 1) if i not in pairs]
    if missing:
        raise ModelFileError(f"{path}: no vertex for iBUG point(s) {missing[:5]}...; tfface needs "
                             f"all 68 (eos omits the jaw contour): pass --landmarks with 68 ids")
    return np.array([pairs[i] for i in range(1, NUM_LANDMARKS + 1)])


def load_eos_model(shape_path: str, blendshapes_path: Optional[str] = None,
                   landmarks: Optional[np.ndarray] = None) -> MorphableModel:
    """Read an eos ``MorphableModel`` ``.bin`` (+ optional blendshapes ``.bin``).

    The orthonormal PCA basis is scaled by sqrt(eigenvalue), so a coefficient
    of 1.0 is one standard deviation, as in the npz layout.
    ``landmarks`` are 68 vertex ids in iBUG order (eos' own mapping lacks the
    jaw contour, so it must come from elsewhere).
    """
    reader = _Reader(shape_path)
    version = reader.u32()
    if version != 1:
        raise ModelFileError(f"{shape_path}: eos model class version {version} is not supported "
                             "(tfface reads version 1, the public SFM files)")
    mean, basis, eigenvalues, triangles = _pca_model(reader)
    color_mean, color_basis, color_eigenvalues, _ = _pca_model(reader)
    if basis.shape[0] != mean.shape[0] or eigenvalues.shape[0] != basis.shape[1]:
        raise ModelFileError(f"{shape_path}: shape basis {basis.shape} does not match mean "
                             f"{mean.shape} / eigenvalues {eigenvalues.shape}")
    id_basis = basis * np.sqrt(np.maximum(eigenvalues, 0))[None, :]
    mean_albedo = albedo_basis = None
    if color_mean.size:
        mean_albedo = np.clip(color_mean.reshape(-1, 3), 0, 1)
        albedo_basis = color_basis * np.sqrt(np.maximum(color_eigenvalues, 0))[None, :]
    names: List[str] = []
    exp_basis = None
    if blendshapes_path is not None:
        names, exp_basis = read_eos_blendshapes(blendshapes_path)
    if landmarks is None:
        raise ModelFileError(f"{shape_path}: an eos model has no 68-landmark list; pass "
                             "--landmarks FILE with 68 vertex ids (iBUG order)")
    return MorphableModel(
        mean_shape=mean.reshape(-1, 3), id_basis=id_basis, exp_basis=exp_basis,
        triangles=triangles, landmark_indices=landmarks, mean_albedo=mean_albedo,
        albedo_basis=albedo_basis, expression_names=names, units="mm",
        name=os.path.splitext(os.path.basename(shape_path))[0], source=shape_path)
