"""Renderer: FaceParams -> lit, rasterized face image, mask and landmarks."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import keras
import tensorflow as tf

from tfface.layers.camera import Camera
from tfface.layers.decoder import MorphableDecoder
from tfface.layers.lighting import SphericalHarmonicsLighting
from tfface.layers.normals import VertexNormals
from tfface.layers.rasterizer import Rasterizer
from tfface.layers.serialization import PACKAGE
from tfface.shapes import check_shape

_SUBLAYERS = ("decoder", "normals", "lighting", "camera", "rasterizer")


@keras.saving.register_keras_serializable(package=PACKAGE)
class Renderer(keras.layers.Layer):
    """The forward face model, as a pipeline of Keras layers.

    params ``[B, P]`` -> decoder (vertices, albedo ``[B, V, 3]``) -> vertex
    normals -> pose (camera) -> SH lighting of world-space normals
    (colours ``[B, V, 3]``) -> projection -> rasterizer.

    ``renderer(params, background=None)`` returns a dict:
      * ``image`` ``[B, H, W, 3]``: the render composited over ``background``
        ``[B, H, W, 3]`` (black when None), values in 0..1 (not clipped);
      * ``mask`` ``[B, H, W, 1]``: face coverage;
      * ``landmarks2d`` ``[B, 68, 2]``: projected landmarks, pixels;
      * ``shape`` ``[B, V, 3]`` model space (before pose), ``vertices``
        ``[B, V, 3]`` world space; ``colors`` ``[B, V, 3]`` lit.
    """

    def __init__(self, decoder: MorphableDecoder, normals: VertexNormals,
                 lighting: SphericalHarmonicsLighting, camera: Camera, rasterizer: Rasterizer,
                 landmark_indices: Sequence[int], **kwargs) -> None:
        super().__init__(**kwargs)
        self.decoder, self.normals, self.lighting = decoder, normals, lighting
        self.camera, self.rasterizer = camera, rasterizer
        self.landmark_indices = [int(i) for i in landmark_indices]
        self.layout = decoder.layout
        # Per-vertex work has static shapes: XLA fuses its many small ops.
        self._vertex_stage = tf.function(self._per_vertex, jit_compile=True, autograph=False)

    @classmethod
    def from_model(cls, model, image_size: Sequence[int] = (224, 224),
                   projection: str = "perspective", silhouette_gradients: bool = False,
                   cull_backfaces: bool = True, **kwargs) -> "Renderer":
        """A renderer for a :class:`tfface.morphable.MorphableModel`.

        Back faces are culled by default (as OpenGL and tfg's
        rasterize-then-splat do): half the visibility work on closed meshes.
        """
        return cls(
            decoder=MorphableDecoder.from_model(model),
            normals=VertexNormals.from_triangles(model.triangles),
            lighting=SphericalHarmonicsLighting(),
            camera=Camera.for_model(model, image_size, projection=projection),
            rasterizer=Rasterizer.from_triangles(
                model.triangles, image_size=image_size,
                silhouette_gradients=silhouette_gradients, cull_backfaces=cull_backfaces),
            landmark_indices=model.landmark_indices.tolist(), **kwargs)

    @property
    def image_size(self):
        return self.rasterizer.image_size

    def compute_for_render(self, params) -> Dict[str, tf.Tensor]:
        """Every per-vertex output of ``params`` ``[B, P]``, from one call
        (compiled with XLA: per-vertex work has static shapes).

        Returns a dict: ``shape`` ``[B, V, 3]`` model space (identity +
        expression, before pose); ``vertices`` ``[B, V, 3]`` posed (world space);
        ``normals`` ``[B, V, 3]`` world-space unit normals; ``albedo``,
        ``shading`` (irradiance) and lit ``colors = albedo * shading``
        ``[B, V, 3]``; ``clip`` ``[B, V, 4]``;
        ``pixels`` ``[B, V, 2]``; ``landmarks2d`` ``[B, 68, 2]`` pixels and
        ``landmarks3d`` ``[B, 68, 3]`` world space.
        """
        check_shape(params, "Renderer: params", ("B", self.layout.size))
        return self._vertex_stage(params)

    def _per_vertex(self, params):
        groups = self.layout.split(params)
        vertices, albedo = self.decoder(params)
        normals = self.camera.rotate_normals(self.normals(vertices), groups["rotation"])
        world, clip, pixels = self.camera(vertices, groups["rotation"], groups["translation"],
                                          groups["scale"])
        shading = self.lighting.irradiance(normals, groups["illumination"])
        return {"shape": vertices, "vertices": world, "normals": normals, "albedo": albedo,
                "shading": shading, "colors": albedo * shading,
                "clip": clip, "pixels": pixels,
                "landmarks2d": tf.gather(pixels, self.landmark_indices, axis=1),
                "landmarks3d": tf.gather(world, self.landmark_indices, axis=1)}

    def landmarks_at(self, pixels: tf.Tensor, landmark_vertices) -> tf.Tensor:
        """The landmarks ``[B, 68, 2]`` at ``landmark_vertices`` ``[B, 68]``
        (the vertices each face's landmarks mark; -1: the model's own
        landmark vertex) of projected vertices ``pixels`` ``[B, V, 2]``."""
        ids = tf.convert_to_tensor(landmark_vertices)
        ids = tf.where(ids < 0, tf.constant(self.landmark_indices, ids.dtype), ids)
        return tf.gather(pixels, ids, batch_dims=1)

    def build(self, params_shape, background_shape=None) -> None:
        """Nothing to create: the sublayers hold the model's arrays from
        construction and build on their first call."""

    def call(self, params, background: Optional[tf.Tensor] = None):
        per_vertex = self.compute_for_render(params)
        image, mask = self.rasterizer(per_vertex["clip"], per_vertex["colors"])
        if background is not None:
            image = image + (1.0 - mask) * tf.cast(background, image.dtype)
        return {"image": image, "mask": mask, "landmarks2d": per_vertex["landmarks2d"],
                "pixels": per_vertex["pixels"], "shape": per_vertex["shape"],
                "vertices": per_vertex["vertices"], "colors": per_vertex["colors"]}

    def get_config(self):
        config = {name: keras.saving.serialize_keras_object(getattr(self, name))
                  for name in _SUBLAYERS}
        return {**super().get_config(), **config, "landmark_indices": self.landmark_indices}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in _SUBLAYERS:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
