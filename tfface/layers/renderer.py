"""Renderer: FaceParams -> lit, rasterized face image, mask and landmarks."""

from __future__ import annotations

from typing import Optional, Sequence

import keras
import tensorflow as tf

from tfface.layers.camera import Camera
from tfface.layers.decoder import MorphableDecoder
from tfface.layers.lighting import SphericalHarmonicsLighting
from tfface.layers.normals import VertexNormals
from tfface.layers.rasterizer import Rasterizer
from tfface.layers.serialization import PACKAGE

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
      * ``vertices`` ``[B, V, 3]`` world space; ``colors`` ``[B, V, 3]`` lit.
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
        self._vertex_stage = tf.function(self._shade_vertices, jit_compile=True)

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

    def geometry(self, params):
        """Pose and project without rasterizing.

        Returns ``(world [B, V, 3], clip [B, V, 4], pixels [B, V, 2],
        albedo [B, V, 3], world_normals [B, V, 3])``.
        """
        groups = self.layout.split(params)
        vertices, albedo = self.decoder(params)
        normals = self.camera.rotate_normals(self.normals(vertices), groups["rotation"])
        world, clip, pixels = self.camera(vertices, groups["rotation"], groups["translation"],
                                          groups["scale"])
        return world, clip, pixels, albedo, normals

    def landmarks(self, params):
        """Projected 68 landmarks ``[B, 68, 2]`` (pixels) without rendering."""
        return tf.gather(self.geometry(params)[2], self.landmark_indices, axis=1)

    def _shade_vertices(self, params):
        world, clip, pixels, albedo, normals = self.geometry(params)
        colors = self.lighting(albedo, normals, self.layout.split(params)["illumination"])
        return world, clip, pixels, colors

    def call(self, params, background: Optional[tf.Tensor] = None):
        world, clip, pixels, colors = self._vertex_stage(params)
        image, mask = self.rasterizer(clip, colors)
        if background is not None:
            image = image + (1.0 - mask) * tf.cast(background, image.dtype)
        return {"image": image, "mask": mask,
                "landmarks2d": tf.gather(pixels, self.landmark_indices, axis=1),
                "vertices": world, "colors": colors}

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
