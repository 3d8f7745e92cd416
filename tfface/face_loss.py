"""FaceLoss: the named loss terms of training and fitting, their weights, their sum.

One list of terms (:data:`TERMS`) drives computing, weighting and logging,
as in Deep3DFaceRecon; each term calls a pure, hand-checked function of
:mod:`tfface.losses`. A term owns its keys of a config's ``losses``
section (its weight under its own name, plus its options), so a new term
is one class here and one key in :mod:`tfface.config`. The same
:class:`FaceLoss` trains the encoder (:class:`tfface.training.autoencoder.FaceAutoencoder`),
is written into the trained encoder's ``.keras`` file (:func:`save_encoder`)
and is read back by the photometric and landmark fits (:func:`encoder_loss`),
so fitting minimises what the encoder was trained on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from typing import Any, Dict, Mapping, Optional, Tuple

import keras
import tensorflow as tf

from tfface.errors import ModelFileError
from tfface.io_utils import atomic_output
from tfface.layers.serialization import PACKAGE
from tfface.loss_weights import (DEFAULT_LANDMARK_EMPHASIS, DEFAULT_LOSS_WEIGHTS,
                                 DEFAULT_REGULARIZATION)
from tfface.losses import (default_landmark_weights, distillation_loss,
                           identity_consistency_loss, landmark_loss, photometric_loss,
                           regularization_loss, shape_loss)
from tfface.params import FaceParams

ENCODER_LOSS_ENTRY = "tfface_loss.json"
"""Name of the FaceLoss config inside a trained encoder's ``.keras`` archive
(Keras' loader ignores entries it does not know)."""


@dataclasses.dataclass
class LossInputs:
    """What every term sees: ``params`` ``[B, P]`` of ``layout``, the
    renderer's outputs ``rendered`` (``image``, ``mask``, ``landmarks2d``,
    the model-space ``shape``), the target ``image`` ``[B, H, W, 3]`` in
    0..1, target ``landmarks`` ``[B, 68, 2]`` pixels and the render width
    ``image_size`` pixels; where
    the true face is known (synthetic data), its ``target_params`` ``[B, P]``
    and the renderer's ``decoder`` (:class:`tfface.layers.MorphableDecoder`)
    to compare shapes with."""

    params: tf.Tensor
    layout: FaceParams
    rendered: Mapping[str, tf.Tensor]
    image: tf.Tensor
    landmarks: tf.Tensor
    image_size: float
    target_params: Optional[tf.Tensor] = None
    decoder: Any = None
    landmark_mask: Optional[tf.Tensor] = None
    person: Optional[tf.Tensor] = None
    shape_weight: Optional[tf.Tensor] = None
    distill_weight: Optional[tf.Tensor] = None


LABEL_FIELDS = ("landmark_mask", "person", "shape_weight", "distill_weight")
"""The per-example labels of :class:`LossInputs` beyond landmarks and params."""


class LossTerm:
    """One named, weighted term. Subclasses set ``name`` (the config key of
    its weight) and ``OPTIONS`` (its other config keys, also its
    ``__init__`` keywords) and implement ``__call__(inputs) -> scalar``."""

    name = ""
    OPTIONS: tuple = ()

    def __init__(self, weight: float) -> None:
        self.weight = float(weight)

    def section(self) -> Dict[str, Any]:
        """This term's keys of the config ``losses`` section."""
        return {self.name: self.weight}

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        raise NotImplementedError


class LandmarkTerm(LossTerm):
    """:func:`tfface.losses.landmark_loss`; ``landmark_emphasis`` weighs the
    nose bridge and inner mouth (:func:`default_landmark_weights`)."""

    name = "landmark"
    OPTIONS = ("landmark_emphasis",)

    def __init__(self, weight: float = DEFAULT_LOSS_WEIGHTS["landmark"],
                 landmark_emphasis: float = DEFAULT_LANDMARK_EMPHASIS) -> None:
        super().__init__(weight)
        self.emphasis = float(landmark_emphasis)
        self.point_weights = default_landmark_weights(self.emphasis)

    def section(self) -> Dict[str, Any]:
        return {**super().section(), "landmark_emphasis": self.emphasis}

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        return landmark_loss(inputs.rendered["landmarks2d"], inputs.landmarks,
                             inputs.image_size, self.point_weights, inputs.landmark_mask)


class PhotometricTerm(LossTerm):
    """:func:`tfface.losses.photometric_loss` over the rendered face region."""

    name = "photometric"
    OPTIONS = ("robust_photometric",)

    def __init__(self, weight: float = DEFAULT_LOSS_WEIGHTS["photometric"],
                 robust_photometric: bool = True) -> None:
        super().__init__(weight)
        self.robust = bool(robust_photometric)

    def section(self) -> Dict[str, Any]:
        return {**super().section(), "robust_photometric": self.robust}

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        return photometric_loss(inputs.rendered["image"], inputs.image, inputs.rendered["mask"],
                                robust=self.robust)


class RegularizationTerm(LossTerm):
    """:func:`tfface.losses.regularization_loss`: its config value is the
    per-group weights (``{identity: .., expression: .., albedo: ..}``), its
    term weight 1."""

    name = "regularization"

    def __init__(self, weight: Optional[Mapping[str, float]] = None) -> None:
        super().__init__(1.0)
        self.groups = {k: float(v) for k, v in
                       (DEFAULT_REGULARIZATION if weight is None else weight).items()}

    def section(self) -> Dict[str, Any]:
        return {self.name: self.groups}

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        return regularization_loss(inputs.params, inputs.layout, self.groups)


class ShapeTerm(LossTerm):
    """:func:`tfface.losses.shape_loss` between the predicted and the true
    model-space shape (identity + expression, before pose), in units of the
    mean face's width; zero for data without a true face (photos) and when
    its weight is 0. Pose is
    not supervised: augmentation moves the image, not the true params."""

    name = "shape"

    def __init__(self, weight: float = DEFAULT_LOSS_WEIGHTS["shape"]) -> None:
        super().__init__(weight)

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        if inputs.target_params is None or self.weight == 0:  # no true face, or the term off
            return tf.zeros([])
        if inputs.decoder is None:
            raise ValueError("ShapeTerm: target_params given without the decoder to compare "
                             "shapes with")
        vertices = inputs.rendered["shape"]
        target = inputs.decoder(tf.cast(inputs.target_params, inputs.params.dtype))[0]
        mean = tf.reshape(inputs.decoder.mean_shape, [-1, 3])
        width = tf.reduce_max(mean[:, 0]) - tf.reduce_min(mean[:, 0])
        return shape_loss(vertices, target, width, inputs.shape_weight)


class IdentityConsistencyTerm(LossTerm):
    """:func:`tfface.losses.identity_consistency_loss`: photos of one person
    in a batch share one identity; zero for data without person ids."""

    name = "identity_consistency"

    def __init__(self, weight: float = 0.0) -> None:
        super().__init__(weight)

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        if inputs.person is None:
            return tf.zeros([])
        identity = inputs.layout.split(inputs.params)["identity"]
        return identity_consistency_loss(identity, inputs.person)


class DistillationTerm(LossTerm):
    """:func:`tfface.losses.distillation_loss` against ``target_params``
    where ``distill_weight`` says they count (a landmark fit's params on
    photos it confirmed, the true ones on synthetic faces): its config value
    is the per-group weights (``{rotation: .., identity: .., expression: ..}``;
    none: no term), its term weight 1."""

    name = "distillation"

    def __init__(self, weight: Optional[Mapping[str, float]] = None) -> None:
        super().__init__(1.0)
        self.groups = {k: float(v) for k, v in (weight or {}).items()}

    def section(self) -> Dict[str, Any]:
        return {self.name: self.groups}

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        if not self.groups or inputs.target_params is None or inputs.distill_weight is None:
            return tf.zeros([])
        return distillation_loss(inputs.params, inputs.target_params, inputs.layout,
                                 self.groups, inputs.distill_weight)


TERMS = (LandmarkTerm, PhotometricTerm, RegularizationTerm, ShapeTerm,
         IdentityConsistencyTerm, DistillationTerm)
"""Every loss term, in logging order."""


@keras.saving.register_keras_serializable(package=PACKAGE)
class FaceLoss:
    """The weighted sum of :data:`TERMS`, built from a config's ``losses``
    section (missing keys take the shipped encoder's defaults,
    :mod:`tfface.loss_weights`).

    ``loss(params, layout, rendered, image, landmarks)`` returns the
    unweighted scalar terms by name and their weighted sum ``loss``
    (``target_params`` and ``decoder`` where the true face is known).
    """

    def __init__(self, section: Optional[Mapping[str, Any]] = None) -> None:
        section = dict(section or {})
        self.terms: Dict[str, LossTerm] = {}
        for term in TERMS:
            keys = {"weight": section.pop(term.name)} if term.name in section else {}
            keys.update({key: section.pop(key) for key in term.OPTIONS if key in section})
            self.terms[term.name] = term(**keys)
        if section:
            raise ValueError(f"FaceLoss: unknown keys {sorted(section)}; "
                             f"terms are {[t.name for t in TERMS]}")

    @property
    def names(self) -> Tuple[str, ...]:
        """Term names, in :data:`TERMS` order (the logged metrics besides ``loss``)."""
        return tuple(self.terms)

    def __call__(self, params: tf.Tensor, layout: FaceParams, rendered: Mapping[str, tf.Tensor],
                 image: tf.Tensor, landmarks: tf.Tensor, target_params: Optional[tf.Tensor] = None,
                 decoder=None, **labels: Optional[tf.Tensor]) -> Dict[str, tf.Tensor]:
        """Terms of ``params`` ``[B, P]`` rendered as ``rendered`` against
        ``image`` ``[B, H, W, 3]`` (0..1), ``landmarks`` ``[B, 68, 2]`` and,
        where known, the true ``target_params`` ``[B, P]`` (with the
        renderer's ``decoder``); ``labels``: those of :data:`LABEL_FIELDS`
        the data has."""
        unknown = set(labels) - set(LABEL_FIELDS)
        if unknown:
            raise TypeError(f"FaceLoss: unknown labels {sorted(unknown)}; known: {LABEL_FIELDS}")
        inputs = LossInputs(params, layout, rendered, image, landmarks,
                            float(rendered["image"].shape[2]), target_params, decoder, **labels)
        values = {name: term(inputs) for name, term in self.terms.items()}
        values["loss"] = tf.add_n([self.terms[n].weight * v for n, v in values.items()])
        return values

    def of_params(self, renderer, params: tf.Tensor, image: tf.Tensor, landmarks: tf.Tensor,
                  target_params: Optional[tf.Tensor] = None,
                  landmark_vertices: Optional[tf.Tensor] = None,
                  **labels: Optional[tf.Tensor]) -> Dict[str, tf.Tensor]:
        """Render ``params`` ``[B, P]`` with a :class:`tfface.layers.Renderer`
        over ``image`` ``[B, S, S, 3]`` (0..255, the renderer's size) and
        return the terms against it, ``landmarks`` ``[B, 68, 2]`` and the
        true ``target_params`` ``[B, P]`` where known: what training and
        per-image fitting both minimise. ``landmark_vertices`` ``[B, 68]``:
        the vertices the landmarks mark (a landmark fit's ``vertex_ids``,
        an annotated photo's; -1 or None: the renderer's landmark vertex);
        ``labels``: those of :data:`LABEL_FIELDS` the data has."""
        target = image / 255.0
        rendered = renderer(params, target)
        if landmark_vertices is not None:
            rendered = {**rendered, "landmarks2d": renderer.landmarks_at(rendered["pixels"],
                                                                         landmark_vertices)}
        return self(params, renderer.layout, rendered, target, landmarks, target_params,
                    renderer.decoder, **labels)

    def section(self) -> Dict[str, Any]:
        """The config ``losses`` section this loss is built from."""
        return {key: value for term in self.terms.values()
                for key, value in term.section().items()}

    def get_config(self) -> Dict[str, Any]:
        return {"section": self.section()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "FaceLoss":
        return cls(config["section"])


def save_encoder(encoder: keras.Model, path: str, loss: FaceLoss) -> None:
    """Write ``encoder`` to the ``.keras`` file ``path`` (atomically) with the
    FaceLoss it was trained with inside (:data:`ENCODER_LOSS_ENTRY`)."""
    with atomic_output(path) as tmp:
        encoder.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(ENCODER_LOSS_ENTRY, json.dumps(loss.get_config()))


def encoder_loss(path: Optional[str]) -> FaceLoss:
    """The FaceLoss an encoder file was trained with: inside a ``.keras``
    file, or in the JSON description beside an exported one
    (``tfface export``); the default (the shipped encoder's recipe) when
    the file carries none."""
    from tfface.export.signature import sidecar_path
    if path is None:
        return FaceLoss()
    try:
        if str(path).endswith(".keras"):
            with zipfile.ZipFile(path) as archive:
                if ENCODER_LOSS_ENTRY not in archive.namelist():
                    return FaceLoss()
                config = json.loads(archive.read(ENCODER_LOSS_ENTRY))
        else:
            sidecar = sidecar_path(str(path).rstrip("/"))
            if not os.path.isfile(sidecar):
                return FaceLoss()
            with open(sidecar, encoding="utf-8") as handle:
                config = json.load(handle).get("face_loss")
            if config is None:
                return FaceLoss()
        return FaceLoss.from_config(config)
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{path}: its training loss record is unreadable "
                             f"({type(error).__name__}); re-save the encoder with "
                             "tfface.face_loss.save_encoder or re-export it") from None
