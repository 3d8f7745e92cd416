"""Keras layers of the forward face model."""

from tfface.layers.camera import Camera, rotation_matrix
from tfface.layers.decoder import MorphableDecoder
from tfface.layers.lighting import SphericalHarmonicsLighting, sh_basis
from tfface.layers.normals import VertexNormals, vertex_normals
from tfface.layers.rasterizer import Rasterizer, rasterize_triangle_ids
from tfface.layers.renderer import Renderer

__all__ = ["Camera", "MorphableDecoder", "Rasterizer", "Renderer", "SphericalHarmonicsLighting",
           "VertexNormals", "rasterize_triangle_ids", "rotation_matrix", "sh_basis",
           "vertex_normals"]
