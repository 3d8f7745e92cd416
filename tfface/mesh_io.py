"""Mesh files with vertex colours (OBJ, PLY, GLB) through trimesh."""

from __future__ import annotations

import os

import numpy as np
import trimesh

from tfface.errors import TfFaceError
from tfface.io_utils import atomic_output

MESH_FORMATS = ("obj", "ply", "glb")


def write_mesh(path: str, vertices: np.ndarray, triangles: np.ndarray,
               colors: np.ndarray) -> None:
    """Write ``vertices [V, 3]``, ``triangles [T, 3]``, ``colors [V, 3]`` (0..1)."""
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in MESH_FORMATS:
        raise TfFaceError(f"{path}: unsupported mesh format '{ext}'; use one of {MESH_FORMATS}")
    rgba = np.concatenate([np.clip(colors, 0, 1) * 255, np.full((len(colors), 1), 255)], 1)
    mesh = trimesh.Trimesh(vertices=np.asarray(vertices, np.float64), faces=triangles,
                           vertex_colors=rgba.astype(np.uint8), process=False)
    with atomic_output(path) as tmp:
        mesh.export(tmp, file_type=ext)
