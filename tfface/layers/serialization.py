"""Helpers shared by the layers that carry model arrays as Keras weights."""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

PACKAGE = "tfface"


def constant_weight(layer: keras.layers.Layer, name: str, shape: Sequence[int],
                    dtype: str = "float32") -> keras.Variable:
    """A non-trainable weight that holds model data (saved in ``.keras`` files).

    ``from_config`` rebuilds it with zeros of the right shape; the weights file
    of a ``.keras`` archive then restores the values.
    """
    return layer.add_weight(name=name, shape=tuple(int(s) for s in shape),
                            initializer="zeros", dtype=dtype, trainable=False)


def assign(variable: keras.Variable, value: np.ndarray) -> None:
    """Assign a numpy array to a model-data weight, checking its shape."""
    value = np.asarray(value)
    if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(f"{variable.path}: shape {value.shape} != {tuple(variable.shape)}")
    variable.assign(value.astype(variable.dtype))


class TriangleTopology:
    """Mixin for layers that keep a fixed ``[T, 3]`` triangle list as a weight.

    The layer's ``__init__`` takes ``num_triangles`` and creates ``self.triangles``.
    """

    @classmethod
    def from_triangles(cls, triangles: np.ndarray, **kwargs):
        """The layer for a triangle list ``[T, 3]`` (0-based vertex ids)."""
        layer = cls(num_triangles=len(triangles), **kwargs)
        assign(layer.triangles, triangles)
        return layer
