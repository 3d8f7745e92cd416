"""Shape checks at the boundary of public layers and functions.

Each public op checks its inputs' static shapes with
tensorflow-graphics' ``shape.check_static`` (as tensorflow_graphics' own
ops do) and fails with a message that names the argument and the expected
shape, instead of a broadcasting error deep inside the graph.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import tensorflow as tf
from tensorflow_graphics.util import shape as tfg_shape

Dim = Union[int, str]


def check_shape(tensor, name: str, expected: Sequence[Dim]) -> None:
    """Raise ``ValueError`` unless ``tensor`` has ``len(expected)`` axes and,
    where ``expected`` gives an int, that size (a str, e.g. ``"B"``, is any size).

    Args:
      tensor: a tensor, array or Keras tensor.
      name: the argument, as the message shows it (``"Renderer: params"``).
      expected: e.g. ``("B", 68, 2)``.

    Raises:
      ValueError: ``"<name> must have ... but it has shape [..]; expected [B, 68, 2]"``.
    """
    dims = [(axis, size) for axis, size in enumerate(expected) if isinstance(size, int)]
    static = tf.TensorSpec(tf.TensorShape(getattr(tensor, "shape", np.shape(tensor))))
    try:
        tfg_shape.check_static(static, tensor_name=name, has_rank=len(expected),
                               has_dim_equals=dims or None)
    except ValueError as error:
        shown = ", ".join(str(size) for size in expected)
        raise ValueError(f"{error}; expected [{shown}]") from None
