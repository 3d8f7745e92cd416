"""Loader for the ICT-FaceKit ``FaceXModel/`` folder (MIT licence).

Layout: ``generic_neutral_mesh.obj`` (quads), ``identity000.obj`` ...
``identityNNN.obj`` (consecutive; each the neutral mesh displaced by one
identity mode), one ``<name>.obj`` per expression named in
``vertex_indices.json`` ``"expressions"`` (ARKit names such as ``jawOpen``),
and the 68 iBUG landmark vertex ids in ``"idx_to_landmark_verts"``.
Modes are mesh minus neutral, as ICT-FaceKit's own ``face_model_io`` computes.
FaceXModel OBJs are in centimetres; tfface converts to millimetres.
The full mesh has eyes, teeth and mouth socket; ``face_only`` keeps the face
region (vertices ``0 .. 9408``, ICT's geometry #0) and the triangles within it.
"""

from __future__ import annotations

import json
import os
from typing import List, Tuple

import numpy as np

from tfface.errors import ModelFileError
from tfface.morphable.model import MorphableModel

FACE_REGION_VERTICES = 9409
_CM_TO_MM = 10.0


def read_obj(path: str, faces: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Vertices ``[V, 3]`` and fan-triangulated faces ``[T, 3]`` of an OBJ.

    Reads ``v`` and ``f`` records in file order. (trimesh re-orders vertices
    that carry several texture coordinates, which would break the
    vertex correspondence between the morph-target files.)
    """
    vertices: List[List[float]] = []
    triangles: List[Tuple[int, int, int]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("v "):
                    vertices.append([float(x) for x in line.split()[1:4]])
                elif faces and line.startswith("f "):
                    ids = [int(token.split("/")[0]) - 1 for token in line.split()[1:]]
                    triangles += [(ids[0], ids[i], ids[i + 1]) for i in range(1, len(ids) - 1)]
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read ({error.strerror}); is this a FaceXModel "
                             "folder?") from None
    except (ValueError, IndexError):
        raise ModelFileError(f"{path}: malformed OBJ record") from None
    return np.array(vertices, np.float64).reshape(-1, 3), np.array(triangles, np.int64).reshape(-1, 3)


def _modes(folder: str, names: List[str], neutral: np.ndarray) -> np.ndarray:
    columns = []
    for name in names:
        path = os.path.join(folder, name + ".obj")
        shape, _ = read_obj(path, faces=False)
        if shape.shape != neutral.shape:
            raise ModelFileError(f"{path}: {len(shape)} vertices, the neutral mesh has "
                                 f"{len(neutral)}")
        columns.append((shape - neutral).reshape(-1))
    return np.stack(columns, 1) if columns else np.zeros((neutral.size, 0))


def load_ict_facekit(folder: str, face_only: bool = True) -> MorphableModel:
    """Read an ICT-FaceKit ``FaceXModel`` folder."""
    config_path = os.path.join(folder, "vertex_indices.json")
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
        expressions = list(config["expressions"])
        landmarks = np.array(config["idx_to_landmark_verts"], np.int64)
    except OSError:
        raise ModelFileError(f"{config_path}: missing; give the FaceXModel folder of "
                             "ICT-FaceKit") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{config_path}: no valid 'expressions' / "
                             f"'idx_to_landmark_verts' ({error})") from None
    neutral, triangles = read_obj(os.path.join(folder, "generic_neutral_mesh.obj"))
    identities = []
    while os.path.isfile(os.path.join(folder, f"identity{len(identities):03d}.obj")):
        identities.append(f"identity{len(identities):03d}")
    id_basis = _modes(folder, identities, neutral)
    exp_basis = _modes(folder, expressions, neutral)
    if face_only and len(neutral) > FACE_REGION_VERTICES:
        keep = FACE_REGION_VERTICES
        rows = slice(0, 3 * keep)
        neutral, id_basis, exp_basis = neutral[:keep], id_basis[rows], exp_basis[rows]
        triangles = triangles[(triangles < keep).all(1)]
    return MorphableModel(
        mean_shape=neutral * _CM_TO_MM, id_basis=id_basis * _CM_TO_MM,
        exp_basis=exp_basis * _CM_TO_MM, triangles=triangles,
        landmark_indices=landmarks, expression_names=expressions, units="mm",
        name="ict-facekit", source=folder)
