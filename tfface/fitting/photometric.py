"""Analysis-by-synthesis: optimise FaceParams of given images through the renderer.

Starting from the encoder's output (or the mean face), the params are
refined with the training losses (landmark, photometric, regularization)
by Adam. Each group is optimised in the units of the encoder's output
scales (:data:`tfface.encoders.GROUP_SCALES`), so a step moves translation
by millimetres and rotation by fractions of a radian alike.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from tfface.encoders import group_scales
from tfface.face_loss import FaceLoss
from tfface.layers.renderer import Renderer


@dataclasses.dataclass
class FitResult:
    """``params`` ``[B, P]`` after fitting; the batch's loss terms before and
    after; ``faces``: each face's own, ``[{"before": .., "after": ..}] * B``."""

    params: np.ndarray
    before: Dict[str, float]
    after: Dict[str, float]
    faces: List[Dict[str, Dict[str, float]]]


class PhotometricFitter:
    """Analysis-by-synthesis that compiles once per batch size and is reused
    (a video's frames do not retrace): :meth:`fit` resets the offset and the
    Adam state, then runs the compiled step.

    Args:
      renderer: the :class:`Renderer` of the images' size.
      learning_rate: Adam's, in the units of :func:`group_scales`.
      face_loss: the encoder's (:func:`tfface.face_loss.encoder_loss`);
        default the shipped encoder's.
    """

    def __init__(self, renderer: Renderer, learning_rate: float = 0.02,
                 face_loss: Optional[FaceLoss] = None) -> None:
        self.renderer = renderer
        self.learning_rate = float(learning_rate)
        self.face_loss = FaceLoss() if face_loss is None else face_loss
        self.scales = tf.constant(group_scales(renderer.layout))
        self._compiled: Dict[int, tuple] = {}

    def _compile(self, batch: int) -> tuple:
        if batch in self._compiled:
            return self._compiled[batch]
        size = self.renderer.image_size
        count = self.renderer.layout.size
        offset = tf.Variable(tf.zeros((batch, count)), name="offset")
        optimizer = keras.optimizers.Adam(self.learning_rate)
        optimizer.build([offset])
        points = len(self.renderer.landmark_indices)
        signature = [tf.TensorSpec((batch, size[0], size[1], 3), tf.float32),
                     tf.TensorSpec((batch, points, 2), tf.float32),
                     tf.TensorSpec((batch, points), tf.int32),
                     tf.TensorSpec((batch, count), tf.float32),
                     tf.TensorSpec((batch, count), tf.float32)]

        @tf.function(input_signature=signature)
        def terms(image, landmarks, vertices, init, free) -> Dict[str, tf.Tensor]:
            return self.face_loss.of_params(self.renderer, init + offset * self.scales * free,
                                            image, landmarks, landmark_vertices=vertices)

        @tf.function(input_signature=signature)
        def step(image, landmarks, vertices, init, free) -> Dict[str, tf.Tensor]:
            with tf.GradientTape() as tape:
                current = terms(image, landmarks, vertices, init, free)
            optimizer.apply_gradients([(tape.gradient(current["loss"], offset), offset)])
            return current

        self._compiled[batch] = (offset, optimizer, terms, step)
        return self._compiled[batch]

    def fit(self, image: np.ndarray, landmarks: np.ndarray, init: Optional[np.ndarray] = None,
            steps: int = 100, progress: bool = False,
            landmark_vertices: Optional[np.ndarray] = None,
            held: Optional[np.ndarray] = None) -> FitResult:
        """Fit params ``[B, P]`` to ``image`` ``[B, S, S, 3]`` (0..255, the
        renderer's size) and ``landmarks`` ``[B, 68, 2]`` (pixels) in
        ``steps`` Adam steps; ``init`` defaults to the mean face.
        ``landmark_vertices`` ``[B, 68]``: the vertices the landmarks mark
        (a landmark fit's ``vertex_ids``, so both fits match the same jaw
        vertices); default the renderer's landmark vertices. ``held``
        ``[B, P]`` (bool): entries kept at ``init`` (e.g. expressions a
        landmarker scored); default none."""
        layout = self.renderer.layout
        image = tf.constant(image, tf.float32)
        landmarks = tf.constant(landmarks, tf.float32)
        vertices = tf.constant(np.broadcast_to(
            self.renderer.landmark_indices if landmark_vertices is None else landmark_vertices,
            landmarks.shape[:2]), tf.int32)
        init = layout.zeros(len(image)) if init is None else np.asarray(init, np.float32)
        offset, optimizer, terms, step = self._compile(len(image))
        offset.assign(tf.zeros_like(offset))
        optimizer.iterations.assign(0)
        for slot in optimizer.variables:  # momentum and velocity: the offset's shape
            if tuple(slot.shape) == tuple(offset.shape):
                slot.assign(tf.zeros_like(slot))
        free = np.ones(init.shape, np.float32) if held is None else \
            1.0 - np.broadcast_to(held, init.shape).astype(np.float32)
        inputs = (image, landmarks, vertices, tf.constant(init), tf.constant(free))
        before = {k: float(v) for k, v in terms(*inputs).items()}
        for _ in tqdm(range(steps), disable=not progress, unit="step", desc="fit"):
            step(*inputs)
        after = {k: float(v) for k, v in terms(*inputs).items()}
        params = (init + offset.numpy() * self.scales.numpy() * free).astype(np.float32)
        faces = [{"before": before, "after": after}] if len(params) == 1 else [
            {"before": self._terms_of_one(inputs, b, init), "after": self._terms_of_one(
                inputs, b, params)} for b in range(len(params))]
        return FitResult(params, before, after, faces)

    def _terms_of_one(self, inputs: tuple, b: int, params: np.ndarray) -> Dict[str, float]:
        """The loss terms of face ``b`` of a batch's ``inputs`` alone, at its
        ``params`` ``[B, P]`` (through the one-face compiled terms)."""
        offset, _, terms, _ = self._compile(1)
        offset.assign(tf.zeros_like(offset))
        image, landmarks, vertices, _, free = (x[b:b + 1] for x in inputs)
        return {k: float(v) for k, v in terms(image, landmarks, vertices,
                                               tf.constant(params[b:b + 1]), free).items()}


def fit_params(renderer: Renderer, image: np.ndarray, landmarks: np.ndarray,
               init: Optional[np.ndarray] = None, steps: int = 100,
               learning_rate: float = 0.02, face_loss: Optional[FaceLoss] = None,
               progress: bool = False) -> FitResult:
    """One fit with a new :class:`PhotometricFitter` (it compiles; keep a
    fitter to fit many images of one size)."""
    return PhotometricFitter(renderer, learning_rate, face_loss).fit(
        image, landmarks, init, steps, progress)
