"""Mesh files through trimesh: vertex colours (OBJ, PLY, GLB) or a UV texture
(OBJ + MTL + PNG, GLB with the image embedded in a PBR material).

OBJ and PLY keep the model's units (``units``, mm for the shipped models);
GLB is in metres, as glTF defines, and carries smooth vertex normals, so
viewers shade it smoothly and AR viewers show it life-size."""

from __future__ import annotations

import os

import numpy as np
import trimesh

from tfface.errors import TfFaceError
from tfface.io_utils import atomic_output, write_bytes_atomic

MESH_FORMATS = ("obj", "ply", "glb")
METRES_PER_UNIT = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
"""Model units -> metres, for glTF."""


def _gltf_mesh(mesh: trimesh.Trimesh, units: str) -> trimesh.Trimesh:
    """``mesh`` scaled to metres from ``units`` (normals computed on the way)."""
    if units not in METRES_PER_UNIT:
        raise TfFaceError(f"model units '{units}': unknown; glTF needs one of "
                          f"{sorted(METRES_PER_UNIT)}")
    mesh = mesh.copy()
    mesh.apply_scale(METRES_PER_UNIT[units])
    mesh.vertex_normals  # computed (and exported) from the scaled positions
    return mesh


def write_mesh(path: str, vertices: np.ndarray, triangles: np.ndarray,
               colors: np.ndarray, units: str = "mm") -> None:
    """Write ``vertices [V, 3]`` (in ``units``), ``triangles [T, 3]``,
    ``colors [V, 3]`` (0..1)."""
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in MESH_FORMATS:
        raise TfFaceError(f"{path}: unsupported mesh format '{ext}'; use one of {MESH_FORMATS}")
    rgba = np.concatenate([np.clip(colors, 0, 1) * 255, np.full((len(colors), 1), 255)], 1)
    mesh = trimesh.Trimesh(vertices=np.asarray(vertices, np.float64), faces=triangles,
                           vertex_colors=rgba.astype(np.uint8), process=False)
    with atomic_output(path) as tmp:
        if ext == "glb":
            _gltf_mesh(mesh, units).export(tmp, file_type=ext, include_normals=True)
        else:
            mesh.export(tmp, file_type=ext)


TEXTURED_FORMATS = ("obj", "glb")


def write_textured_mesh(path: str, vertices: np.ndarray, triangles: np.ndarray, uv: np.ndarray,
                        texture: np.ndarray, units: str = "mm") -> None:
    """Write a mesh with one UV ``[V, 2]`` per vertex and a texture image
    ``[S, S, 3]`` uint8: ``.obj`` with ``<stem>.mtl`` and ``<stem>_texture.png``
    beside it, or ``.glb`` with the image embedded (PBR base colour)."""
    from PIL import Image
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    ext = ext.lstrip(".").lower()
    if ext not in TEXTURED_FORMATS:
        raise TfFaceError(f"{path}: textured meshes are written as {TEXTURED_FORMATS}")
    material = trimesh.visual.material.PBRMaterial(
        name=f"{stem}_texture", baseColorTexture=Image.fromarray(texture),
        metallicFactor=0.0, roughnessFactor=1.0)
    mesh = trimesh.Trimesh(vertices=np.asarray(vertices, np.float64), faces=triangles,
                           visual=trimesh.visual.TextureVisuals(uv=uv, material=material),
                           process=False)
    if ext == "glb":
        files = {name: _gltf_mesh(mesh, units).export(file_type="glb", include_normals=True)}
    else:
        text, files = trimesh.exchange.obj.export_obj(mesh, include_texture=True,
                                                      return_texture=True,
                                                      mtl_name=f"{stem}.mtl")
        files = {**files, name: text.encode("utf-8")}
    for file_name, data in files.items():  # the image and MTL first, the mesh last
        write_bytes_atomic(os.path.join(folder, file_name), data)
