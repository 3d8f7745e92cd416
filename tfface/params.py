"""The FaceParams layout: the one source of truth for the coefficient vector.

A parameter vector ``[B, P]`` is the concatenation, in this order, of

=============  ===========  ===================================================
group          size         meaning
=============  ===========  ===================================================
identity       K_id         shape coefficients (1.0 = one standard deviation)
expression     K_exp        expression coefficients (blendshape weights or PCA)
albedo         K_alb        albedo coefficients (1.0 = one standard deviation)
illumination   27           2nd-order SH, 9 coefficients x RGB, laid out
                            ``[r0..r8, g0..g8, b0..b8]``; added to the ambient
                            initialisation (see ``SphericalHarmonicsLighting``)
rotation       3            Euler angles in radians ``(pitch, yaw, roll)``
                            about the x, y, z axes; R = Rz(roll) Ry(yaw)
                            Rx(pitch) (scipy ``Rotation.from_euler("xyz")``)
translation    3            in model units (mm for BFM/SFM/ICT/demo)
scale          1            log scale: the applied scale factor is exp(scale)
=============  ===========  ===================================================

All-zero parameters are the mean face, neutral expression, ambient light,
frontal pose, centred in the image, at the camera's reference distance.
Nothing else in tfface hard-codes an offset into this vector.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, List, Mapping, Tuple

import numpy as np
import tensorflow as tf

from tfface.param_groups import GROUPS

SH_COEFFICIENTS = 9
COLOR_CHANNELS = 3


ROTATION_ORDER = ("pitch", "yaw", "roll")
"""The Euler angles of the ``rotation`` group, in order."""


@dataclasses.dataclass(frozen=True)
class FaceParams:
    """Sizes of each coefficient group; derived from a morphable model.

    Attributes:
      identity: K_id.
      expression: K_exp.
      albedo: K_alb (0 for a model without an albedo basis).
      expression_names: optional names of the expression components
        (e.g. ARKit ``jawOpen``), length K_exp or empty.
    """

    identity: int
    expression: int
    albedo: int
    expression_names: Tuple[str, ...] = ()
    illumination: int = SH_COEFFICIENTS * COLOR_CHANNELS
    rotation: int = 3
    translation: int = 3
    scale: int = 1

    def __post_init__(self) -> None:
        for group in GROUPS:
            if getattr(self, group) < 0:
                raise ValueError(f"FaceParams: size of '{group}' must be >= 0")
        if self.expression_names and len(self.expression_names) != self.expression:
            raise ValueError(
                f"FaceParams: {len(self.expression_names)} expression names "
                f"for {self.expression} expression components"
            )
        object.__setattr__(self, "expression_names", tuple(self.expression_names))

    @classmethod
    def from_model(cls, model) -> "FaceParams":
        """Layout for a :class:`tfface.morphable.MorphableModel`."""
        return cls(
            identity=model.num_identity,
            expression=model.num_expression,
            albedo=model.num_albedo,
            expression_names=tuple(model.expression_names),
        )

    @functools.cached_property
    def sizes(self) -> Dict[str, int]:
        """Group name -> size, in layout order."""
        return {group: getattr(self, group) for group in GROUPS}

    @functools.cached_property
    def size(self) -> int:
        """Total length P of the parameter vector."""
        return sum(self.sizes.values())

    @functools.cached_property
    def slices(self) -> Dict[str, slice]:
        """Group name -> slice into the parameter vector."""
        out, start = {}, 0
        for group, n in self.sizes.items():
            out[group] = slice(start, start + n)
            start += n
        return out

    def split(self, params) -> Dict[str, tf.Tensor]:
        """Split ``[..., P]`` into a dict of ``[..., size]`` tensors per group."""
        params = tf.convert_to_tensor(params)
        parts = tf.split(params, list(self.sizes.values()), axis=-1)
        return dict(zip(GROUPS, parts))

    def split_numpy(self, params: np.ndarray) -> Dict[str, np.ndarray]:
        """Numpy version of :meth:`split`."""
        params = np.asarray(params)
        return {g: params[..., s] for g, s in self.slices.items()}

    def rolled(self, params: np.ndarray, angle: float) -> np.ndarray:
        """A copy of ``params`` ``[P]`` with the head turned by ``angle``
        (radians) more about the camera's view axis: the roll angle plus
        ``angle``, exact since roll is the outermost Euler rotation
        (``R = Rz(roll) Ry(yaw) Rx(pitch)``). Takes a levelled crop's pose
        into its photo's frame (:attr:`tfface.faces.AlignedFace.roll`) and back."""
        params = np.array(params)
        params[self.slices["rotation"].start + ROTATION_ORDER.index("roll")] += angle
        return params

    def concat(self, groups: Mapping[str, object], batch_shape=None) -> tf.Tensor:
        """Concatenate named groups into ``[..., P]``; missing groups are zero."""
        ref = next((tf.convert_to_tensor(v) for v in groups.values()), None)
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"FaceParams: unknown group(s) {sorted(unknown)}")
        if batch_shape is None:
            batch_shape = tf.shape(ref)[:-1] if ref is not None else []
        parts = []
        for group, n in self.sizes.items():
            if group in groups:
                value = tf.cast(tf.convert_to_tensor(groups[group]), tf.float32)
                if value.shape[-1] != n:
                    raise ValueError(
                        f"FaceParams: group '{group}' has size {value.shape[-1]}, expected {n}"
                    )
                parts.append(value)
            else:
                parts.append(tf.zeros(tf.concat([batch_shape, [n]], 0), tf.float32))
        return tf.concat(parts, axis=-1)

    def zeros(self, batch: int = 1) -> np.ndarray:
        """All-zero parameters ``[batch, P]``: mean face, frontal, ambient light."""
        return np.zeros((batch, self.size), np.float32)

    def names(self) -> List[str]:
        """One readable name per entry of the parameter vector."""
        out: List[str] = []
        for group, n in self.sizes.items():
            if group == "expression" and self.expression_names:
                out += [f"expression/{name}" for name in self.expression_names]
            else:
                out += [f"{group}/{i}" for i in range(n)]
        return out

    def get_config(self) -> Dict[str, object]:
        return {
            "identity": self.identity,
            "expression": self.expression,
            "albedo": self.albedo,
            "expression_names": list(self.expression_names),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> "FaceParams":
        return cls(**config)
