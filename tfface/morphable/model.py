"""The morphable model: arrays, validation and the documented ``.npz`` layout.

``.npz`` layout (all arrays float32 unless said; V vertices, T triangles):

===================  ===============  ==========================================
key                  shape            meaning
===================  ===============  ==========================================
mean_shape           [V, 3]           mean vertex positions, in ``units``
id_basis             [3V, K_id]       identity basis, scaled by the s.d.
                                      (coefficient 1.0 = one s.d.); row
                                      ``3*v + c`` is coordinate c of vertex v
exp_basis            [3V, K_exp]      expression basis (blendshape offsets or
                                      scaled PCA), same row layout
exp_names            [K_exp] str      optional names (e.g. ARKit ``jawOpen``)
mean_albedo          [V, 3]           optional mean RGB albedo in 0..1
albedo_basis         [3V, K_alb]      optional albedo basis, scaled by the s.d.
triangles            [T, 3] int32     0-based vertex ids, counter-clockwise
                                      seen from outside the face
landmark_indices     [68] int32       vertex ids of the iBUG 68 landmarks
landmark_exact       [68] bool        optional; False where approximate
uv                   [U, 2]           optional texture coordinates in 0..1, v up
uv_triangles         [T, 3] int32     optional; per triangle corner, the row of
                                      ``uv`` (same order as ``triangles``);
                                      without it ``uv`` is per vertex [V, 2]
units                str              e.g. ``mm``
name                 str              optional model name
written_by           str              ``tfface`` in files :meth:`save` wrote
                                      (a later save may replace only those)
===================  ===============  ==========================================

Other keys are ignored. A model without albedo gets a constant skin albedo.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence, Tuple

import numpy as np

from tfface.errors import ModelFileError
from tfface.io_utils import atomic_output

NUM_LANDMARKS = 68
DEFAULT_ALBEDO = (0.72, 0.55, 0.46)
WRITTEN_BY = "tfface"
"""Constant RGB albedo used for models without a colour model."""


@dataclasses.dataclass(frozen=True, eq=False)
class MorphableModel:
    """A linear 3D morphable face model (shape, expression, albedo).

    shape  = mean_shape + id_basis @ alpha + exp_basis @ beta     [V, 3]
    albedo = mean_albedo + albedo_basis @ delta                   [V, 3]

    Immutable: arrays are made read-only. Validated on construction; a bad
    array raises :class:`ModelFileError` naming the array and ``source``.
    """

    mean_shape: np.ndarray
    id_basis: np.ndarray
    exp_basis: np.ndarray
    triangles: np.ndarray
    landmark_indices: np.ndarray
    mean_albedo: Optional[np.ndarray] = None
    albedo_basis: Optional[np.ndarray] = None
    expression_names: Tuple[str, ...] = ()
    landmark_exact: Optional[np.ndarray] = None
    uv: Optional[np.ndarray] = None
    uv_triangles: Optional[np.ndarray] = None
    units: str = "mm"
    name: str = "model"
    source: str = "<memory>"

    def __post_init__(self) -> None:
        def fix(field: str, value, dtype) -> None:
            array = np.array(value, dtype=dtype, copy=True)
            array.setflags(write=False)
            object.__setattr__(self, field, array)

        fix("mean_shape", self.mean_shape, np.float32)
        v = self.mean_shape.shape[0] if self.mean_shape.ndim == 2 else -1
        self._check("mean_shape", self.mean_shape, (None, 3))
        fix("id_basis", self.id_basis, np.float32)
        fix("exp_basis", np.zeros((3 * v, 0)) if self.exp_basis is None else self.exp_basis,
            np.float32)
        if self.mean_albedo is None:
            fix("mean_albedo", np.tile(np.float32(DEFAULT_ALBEDO), (v, 1)), np.float32)
        else:
            fix("mean_albedo", self.mean_albedo, np.float32)
        fix("albedo_basis",
            np.zeros((3 * v, 0)) if self.albedo_basis is None else self.albedo_basis,
            np.float32)
        fix("triangles", self.triangles, np.int64)
        fix("landmark_indices", self.landmark_indices, np.int64)
        if self.landmark_exact is None:
            fix("landmark_exact", np.ones(NUM_LANDMARKS, bool), bool)
        else:
            fix("landmark_exact", self.landmark_exact, bool)
        if self.uv is not None and self.uv_triangles is None:  # one UV per vertex
            if np.shape(self.uv)[0] != v:
                self._fail(f"'uv' has {np.shape(self.uv)[0]} rows but no 'uv_triangles'; give "
                           f"one UV per vertex ({v}) or 'uv_triangles'")
            object.__setattr__(self, "uv_triangles", self.triangles)
        if self.uv is None and self.uv_triangles is not None:
            self._fail("'uv_triangles' given without 'uv'")
        if self.uv is not None:
            fix("uv", self.uv, np.float32)
            fix("uv_triangles", self.uv_triangles, np.int64)
            self._check("uv", self.uv, (None, 2))
            self._check("uv_triangles", self.uv_triangles, (self.num_triangles, 3))
            if self.uv_triangles.size and (self.uv_triangles.min() < 0
                                           or self.uv_triangles.max() >= len(self.uv)):
                self._fail(f"'uv_triangles' indexes outside 0..{len(self.uv) - 1}")
        object.__setattr__(self, "expression_names",
                           tuple(str(n) for n in self.expression_names))

        for key in ("id_basis", "exp_basis", "albedo_basis"):
            self._check(key, getattr(self, key), (3 * v, None))
        self._check("mean_albedo", self.mean_albedo, (v, 3))
        self._check("triangles", self.triangles, (None, 3))
        self._check("landmark_indices", self.landmark_indices, (NUM_LANDMARKS,))
        self._check("landmark_exact", self.landmark_exact, (NUM_LANDMARKS,))
        for key in ("triangles", "landmark_indices"):
            array = getattr(self, key)
            if array.size and (array.min() < 0 or array.max() >= v):
                self._fail(f"'{key}' has vertex index {int(array.max() if array.max() >= v else array.min())} "
                           f"outside 0..{v - 1}")
        if self.expression_names and len(self.expression_names) != self.num_expression:
            self._fail(f"'exp_names' has {len(self.expression_names)} names for "
                       f"{self.num_expression} expression components")
        if np.any(self.mean_albedo < 0) or np.any(self.mean_albedo > 1):
            self._fail("'mean_albedo' must lie in 0..1 (rescale 0..255 colours by 1/255)")

    def _fail(self, message: str) -> None:
        raise ModelFileError(f"{self.source}: {message}; fix the model file or re-run "
                             "`tfface convert-model`")

    def _check(self, key: str, array: np.ndarray, shape: Sequence[Optional[int]]) -> None:
        ok = array.ndim == len(shape) and all(
            want is None or got == want for got, want in zip(array.shape, shape))
        if not ok:
            want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
            self._fail(f"'{key}' has shape {list(array.shape)}, expected {want}")
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            self._fail(f"'{key}' contains NaN or Inf")

    # ------------------------------------------------------------------ sizes
    @property
    def num_vertices(self) -> int:
        return int(self.mean_shape.shape[0])

    @property
    def num_triangles(self) -> int:
        return int(self.triangles.shape[0])

    @property
    def num_identity(self) -> int:
        return int(self.id_basis.shape[1])

    @property
    def num_expression(self) -> int:
        return int(self.exp_basis.shape[1])

    @property
    def num_albedo(self) -> int:
        return int(self.albedo_basis.shape[1])

    @property
    def center(self) -> np.ndarray:
        """Centre of the mean shape's bounding box ``[3]``: the head-pose pivot."""
        return (self.mean_shape.min(0) + self.mean_shape.max(0)) / 2

    @property
    def width(self) -> float:
        """Horizontal extent of the mean shape (in ``units``)."""
        return float(np.ptp(self.mean_shape[:, 0]))

    # ------------------------------------------------------------- evaluation
    def shape(self, identity=None, expression=None) -> np.ndarray:
        """Vertices ``[V, 3]`` for coefficient vectors (numpy reference)."""
        flat = self.mean_shape.reshape(-1).astype(np.float64)
        if identity is not None:
            flat = flat + self.id_basis @ np.asarray(identity, np.float64)
        if expression is not None:
            flat = flat + self.exp_basis @ np.asarray(expression, np.float64)
        return flat.reshape(-1, 3).astype(np.float32)

    def albedo(self, coefficients=None) -> np.ndarray:
        """Per-vertex albedo ``[V, 3]`` for albedo coefficients (numpy reference)."""
        flat = self.mean_albedo.reshape(-1).astype(np.float64)
        if coefficients is not None and self.num_albedo:
            flat = flat + self.albedo_basis @ np.asarray(coefficients, np.float64)
        return flat.reshape(-1, 3).astype(np.float32)

    # --------------------------------------------------------------------- io
    def _optional_arrays(self) -> dict:
        if self.uv is None:
            return {}
        return {"uv": self.uv, "uv_triangles": self.uv_triangles.astype(np.int32)}

    def save(self, path: str, float16: bool = False) -> None:
        """Write the documented ``.npz`` layout (atomically: no partial file).

        ``float16``: store the three bases as float16, compressed (about a
        third of the size; they are read back as float32)."""
        basis = np.float16 if float16 else np.float32
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ModelFileError(f"{path}: a model file must end in .npz")
        try:
            with atomic_output(path) as tmp:
                (np.savez_compressed if float16 else np.savez)(
                    tmp,
                    mean_shape=self.mean_shape, id_basis=self.id_basis.astype(basis),
                    exp_basis=self.exp_basis.astype(basis),
                    exp_names=np.array(self.expression_names, str),
                    mean_albedo=self.mean_albedo, albedo_basis=self.albedo_basis.astype(basis),
                    triangles=self.triangles.astype(np.int32),
                    landmark_indices=self.landmark_indices.astype(np.int32),
                    landmark_exact=self.landmark_exact, units=np.array(self.units),
                    name=np.array(self.name), written_by=np.array(WRITTEN_BY),
                    **self._optional_arrays(),
                )
        except OSError as error:
            raise ModelFileError(f"{path}: cannot write ({error.strerror}); "
                                 "choose a writable path") from None

    @staticmethod
    def written_by_tfface(path: str) -> bool:
        """Whether ``path`` is a model file :meth:`save` wrote (its
        ``written_by`` entry), so a new save may replace it."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return "written_by" in data.files and str(data["written_by"]) == WRITTEN_BY
        except Exception:  # not an npz at all: zipfile/ValueError/OSError
            return False

    @classmethod
    def load(cls, path: str) -> "MorphableModel":
        """Read a model ``.npz`` in the layout above."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ModelFileError(f"{path}: no such model file; give a .npz written by "
                                 "`tfface convert-model`, or omit it to use the default model (ICT-FaceKit)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as error:  # zipfile/pickle/ValueError: corrupt file
            raise ModelFileError(f"{path}: not a readable .npz model ({type(error).__name__}); "
                                 "re-create it with `tfface convert-model`") from None
        missing = [k for k in ("mean_shape", "id_basis", "triangles", "landmark_indices")
                   if k not in arrays]
        if missing:
            raise ModelFileError(f"{path}: missing array(s) {missing}; see the layout in "
                                 "tfface.morphable.model")

        def get(key):
            return arrays.get(key)

        exp_names = get("exp_names")
        return cls(
            mean_shape=arrays["mean_shape"], id_basis=arrays["id_basis"],
            exp_basis=get("exp_basis"), triangles=arrays["triangles"],
            landmark_indices=arrays["landmark_indices"], mean_albedo=get("mean_albedo"),
            albedo_basis=get("albedo_basis"),
            expression_names=() if exp_names is None else tuple(exp_names.tolist()),
            landmark_exact=get("landmark_exact"), uv=get("uv"),
            uv_triangles=get("uv_triangles"),
            units=str(get("units")) if get("units") is not None else "mm",
            name=str(get("name")) if get("name") is not None
            else os.path.splitext(os.path.basename(path))[0],
            source=path,
        )
