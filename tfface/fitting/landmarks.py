"""Contour-aware landmark fitting: pose, identity and expression from 68 points.

What eos's ``fit_shape_and_pose`` does, for tfface's camera and models, as a
joint damped Gauss-Newton (Levenberg-Marquardt) solve instead of
alternation (pitch trades against identity; alternating converges slowly):

* unknowns: rotation (a local increment ``R <- R exp([w]x)``), x/y
  translation, log scale, identity, and expression bounded to [0, 1] for
  blendshape models (an active set: weights at a bound whose gradient pushes
  outwards are held there);
* objective: the training's landmark and regularization losses with their
  weights (:mod:`tfface.loss_weights`; ``landmark_loss`` in image-size
  units, ``regularization_loss`` per group), i.e. what the encoder
  minimised without the photometric term, plus an L1 sparsity prior on
  blendshape weights (:data:`EXPRESSION_SPARSITY`);
* jaw, by what the 16 jaw points (all but the chin) mark:
  ``jaw="contour"``, the *visible* outline (300-W, dlib, photo detectors):
  the current occluding contour at the fitted pose
  (:func:`tfface.fitting.contour.contour_landmarks`);
  ``jaw="outline"``, a frontal face's outline carried on the head, hidden
  or not (AFLW2000-3D's fitted and re-annotated points, LS3D-W): the
  vertices of :func:`tfface.fitting.contour.outline_landmarks`, fixed;
  ``jaw="fixed"``, the model's own landmark vertices (MediaPipe's face-oval
  map, :mod:`tfface.faces.mesh_map`; points rendered from the model);
* per-point ``confidence`` (optional): the landmarker's trust in each point
  (e.g. :data:`tfface.faces.mesh_map.POINT_CONFIDENCE`: MediaPipe's jaw is
  less reliable than its inner points) multiplies the training's per-point
  weights, renormalised so that the landmark term keeps its total weight;
* the points' ``depth`` (optional: MediaPipe's mesh has one): a second
  estimate of the head rotation, the one that aligns the fitted landmarks
  with the points in 3D (:func:`depth_rotation`); the fitted rotation moves
  halfway to it;
* the expressions fitted are those 68 points can see
  (:func:`landmark_expressions`): gaze, cheek puff/squint and nose sneer
  move no landmark reliably, and fitted freely they soak up shape error;
  they keep their initial values or take a landmarker's ARKit blendshape
  scores (MediaPipe's).

Everything is numpy on the 68 landmark vertices (and, for ``contour``, the
mean shape's normals): ~6 ms per face on one thread (9
Levenberg-Marquardt iterations over both solves, a third of the time in
the ~140-unknown linear solves; ``contour`` ~8 ms).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy.spatial.transform import Rotation

from tfface.arkit import model_blendshape_weights
from tfface.blas import one_blas_thread
from tfface.face_loss import FaceLoss
from tfface.fitting.contour import contour_landmarks, outline_landmarks
from tfface.landmark_sources import JAW_MODES
from tfface.morphable.model import NUM_LANDMARKS, MorphableModel
from tfface.params import FaceParams
from tfface.pinhole import PinholeCamera, euler_from_matrix, euler_matrix, wrap_angles

UNSEEN_EXPRESSIONS = ("eyeLook", "cheekPuff", "cheekSquint", "noseSneer")
"""Name prefixes of blendshapes that 68 landmarks do not determine."""
SCORED_EXPRESSIONS = ("eyeBlink", "eyeSquint", "eyeWide")
"""Name prefixes of blendshapes taken from a landmarker's blendshape scores,
not fitted, when it gives them: the 68 points have two per eyelid, and
MediaPipe's map of them does not close with the lids (on a render of the
default model with one eye fully closed, 384 px: lid gap 4.8 px, truth 0.5),
and the fit left eyeBlink near 0 on AFLW2000-3D's photos (mean 0.00 over
the 1821 usable ones, 0.17 / 0.00 on a face with closed eyes, where
MediaPipe's blendshape model gives 0.75 / 0.52; its mean 0.14). Looked at
there, not tuned: on the 150-image subset pose 5.48 -> 5.51 deg, NME 4.93 ->
4.94 %."""
EXPRESSION_SPARSITY = 0.006
"""L1 weight on blendshape weights in the landmark fit, the one term training
does not have: without it a neutral face comes out with ~10 of 39 fitted
blendshapes above 0.1, soaking up identity; with it 0.3, and pose and
expression errors drop too (chosen of 0, 0.006, 0.02, 0.06 on synthetic
faces, tests/test_landmark_fit.py; they were written 0, 0.003, 0.01, 0.03
while the solver's step counted this term twice)."""
DEPTH_ROTATION_WEIGHT = 0.5
"""How far a fit given the points' depth moves the head rotation of its
pose pass towards the rotation that aligns the fitted landmarks with the
points in 3D (:func:`depth_rotation`): halfway, the two estimates trusted
alike. MediaPipe's depth flattens pitch as much as its 2D points do
(fitted-vs-true slope 0.65 vs 0.67 on renders) but errs differently. On 240
photo-like renders of the default model (yaw +-75 deg, two seeds; not
AFLW2000-3D), set halfway after the whole fit: pose MAE 6.69 -> 6.49 and
6.96 -> 6.72 deg, where the depth's rotation alone gave 6.62 / 6.81 and
halfway to the one from the 51 inner points, unweighted, 6.57 / 6.78; as
done here (from the pose pass's shape, then the second pass) 6.53 /
6.74."""
CONVERGED = 1e-4
"""A solve stops when a step lowers the loss by less than this fraction of it
(1e-7 before: on synthetic faces the same errors to 0.01 mm and 0.01 deg,
on photos poses within 0.03 deg and 9 iterations instead of 13)."""


def landmark_expressions(names: Sequence[str], count: int) -> np.ndarray:
    """Indices of the ``count`` expressions a landmark fit solves for: all but
    :data:`UNSEEN_EXPRESSIONS` (all of them for unnamed, PCA expressions)."""
    if not names:
        return np.arange(count)
    return np.array([i for i, n in enumerate(names)
                     if not str(n).startswith(UNSEEN_EXPRESSIONS)], np.int64)


@dataclasses.dataclass
class LandmarkFit:
    """Result for one face: ``params`` ``[P]``; ``landmarks`` ``[68, 2]``
    projected model landmarks (the contour vertices on the jaw);
    ``vertex_ids`` ``[68]`` the vertices used; ``loss`` before/after
    (landmark + regularization, training weights); ``iterations``;
    ``rotation_held``: the head rotation was found first (from weighted
    points or their depth) and held for the shape."""

    params: np.ndarray
    landmarks: np.ndarray
    vertex_ids: np.ndarray
    loss_before: float
    loss_after: float
    iterations: int
    rotation_held: bool = False


class LandmarkFitter:
    """Fits FaceParams of ``model`` to 68 landmarks seen by ``camera``.

    Args:
      model: the morphable model.
      camera: :class:`tfface.pinhole.PinholeCamera` (or a ``tfface.layers.Camera``).
      face_loss: the :class:`tfface.face_loss.FaceLoss` the encoder was
        trained with (its landmark weight, per-point weights and identity /
        expression regularization); default the shipped encoder's.
      expressions: expression indices to fit (default
        :func:`landmark_expressions`); the others keep their initial value,
        or take a landmarker's blendshape scores (:meth:`fit`), as do those
        of :data:`SCORED_EXPRESSIONS` then.
      bounded: keep expressions in [0, 1] (default: when the model names its
        expressions, i.e. blendshapes).
      sparsity: weight of the L1 prior ``sum(expression)`` on bounded
        (non-negative) blendshape weights (:data:`EXPRESSION_SPARSITY`).
    """

    def __init__(self, model: MorphableModel, camera, face_loss: Optional[FaceLoss] = None,
                 expressions: Optional[Sequence[int]] = None,
                 bounded: Optional[bool] = None,
                 sparsity: float = EXPRESSION_SPARSITY) -> None:
        self.model = model
        self.camera = camera if isinstance(camera, PinholeCamera) else camera.pinhole
        self.layout = FaceParams.from_model(model)
        face_loss = FaceLoss() if face_loss is None else face_loss
        landmark = face_loss.terms["landmark"]
        self.landmark_weight = landmark.weight
        self.point_weights = landmark.point_weights.astype(np.float64) / landmark.point_weights.sum()
        prior = face_loss.terms["regularization"].groups
        self.prior_id = float(prior.get("identity", 0.0))
        self.prior_exp = float(prior.get("expression", 0.0))
        names = model.expression_names
        self.expressions = np.asarray(landmark_expressions(names, model.num_expression)
                                      if expressions is None else expressions, np.int64)
        self.unscored_expressions = np.array(
            [i for i in self.expressions if not str(names[i]).startswith(SCORED_EXPRESSIONS)]
            if names else self.expressions, np.int64)  # fitted when scores are given
        self.scored_expressions = np.setdiff1d(np.arange(model.num_expression),
                                               self.unscored_expressions)  # set from scores
        self.bounded = bool(model.expression_names) if bounded is None else bool(bounded)
        self.sparsity = float(sparsity) if self.bounded else 0.0
        self._id = model.id_basis.astype(np.float64).reshape(model.num_vertices, 3, -1)
        self._exp = model.exp_basis.astype(np.float64).reshape(model.num_vertices, 3, -1)
        # the expressions fitted [E] without and with scores
        self._fitted = {False: self.expressions, True: self.unscored_expressions}
        self._mean = model.mean_shape.astype(np.float64)
        self._gathered = functools.lru_cache(maxsize=16)(self._gather)

    # ------------------------------------------------------------ objective
    def _rows(self, ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mean ``[N, 3]``, identity ``[N, 3, K_id]`` and expression
        ``[N, 3, K_exp]`` rows of vertices ``ids`` ``[N]`` (cached: a fit
        visits a few vertex sets many times)."""
        return self._gathered(np.asarray(ids, np.int64).tobytes())

    def _gather(self, key: bytes) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = np.frombuffer(key, np.int64)
        return self._mean[ids], self._id[ids], self._exp[ids]

    def weights(self, confidence: Optional[np.ndarray] = None) -> np.ndarray:
        """Per-point weights ``[68]`` (sum 1): the training's, times the
        landmarks' ``confidence`` ``[68]`` (None: all 1), renormalised."""
        if confidence is None:
            return self.point_weights
        confidence = np.asarray(confidence, np.float64)
        if confidence.shape != (NUM_LANDMARKS,) or np.any(confidence < 0) or \
                not np.any(confidence > 0):
            raise ValueError(f"confidence: expected [68] non-negative values, not all zero; "
                             f"got shape {confidence.shape}")
        weights = self.point_weights * confidence
        return weights / weights.sum()

    def loss(self, params: np.ndarray, target: np.ndarray,
             ids: Optional[np.ndarray] = None,
             confidence: Optional[np.ndarray] = None) -> float:
        """Landmark + regularization loss (training weights) of ``params``
        ``[P]`` against ``target`` ``[68, 2]``, with vertex ``ids`` ``[68]``
        and per-point ``confidence`` ``[68]`` (:meth:`weights`)."""
        ids = self.model.landmark_indices if ids is None else ids
        return self._loss(self._projection(np.asarray(params, np.float64), ids), target,
                          self.weights(confidence))

    def _loss(self, at: "_Projection", target: np.ndarray, weights: np.ndarray) -> float:
        size = float(self.camera.size[1])
        landmark = np.sum(weights * np.sum(((at.pixels - target) / size) ** 2, 1))
        return float(self.landmark_weight * landmark
                     + self.prior_id * np.sum(at.groups["identity"] ** 2)
                     + self.prior_exp * np.sum(at.groups["expression"] ** 2)
                     + self.sparsity * np.sum(np.abs(at.groups["expression"])))

    def project(self, params: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Pixels ``[N, 2]`` of vertices ``ids`` for ``params`` ``[P]``."""
        return self._projection(np.asarray(params, np.float64), ids).pixels

    def _projection(self, params: np.ndarray, ids: np.ndarray) -> "_Projection":
        """Where ``params`` ``[P]`` put vertices ``ids`` ``[N]``, with what a step needs."""
        groups = self.layout.split_numpy(params)
        rotation = euler_matrix(groups["rotation"])
        scale = np.exp(groups["scale"][0])
        mean, id_rows, exp_rows = self._rows(ids)
        local = (mean + id_rows @ groups["identity"] + exp_rows @ groups["expression"]
                 - self.camera.center)
        pixels, dpix = self.camera.project(scale * local @ rotation.T + groups["translation"])
        return _Projection(params, ids, groups, rotation, scale, local, pixels, dpix)

    # ---------------------------------------------------------- contour jaw
    def jaw_vertices(self, params: np.ndarray) -> np.ndarray:
        """Landmark vertex ids ``[68]`` of ``jaw="contour"`` at the pose of
        ``params`` ``[P]`` (:func:`tfface.fitting.contour.contour_landmarks`):
        the frontal outline at zero rotation; a face turned away shows the
        outline of its cheek, one turned towards the camera that of its jaw,
        further back."""
        angles = self.layout.split_numpy(np.asarray(params, np.float64))["rotation"]
        return contour_landmarks(self.model, euler_matrix(angles))

    # --------------------------------------------------------------- solve
    @one_blas_thread  # small matrices: one thread is faster (tfface.blas)
    def fit(self, target: np.ndarray, init: Optional[np.ndarray] = None, jaw: str = "contour",
            iterations: int = 12, confidence: Optional[np.ndarray] = None,
            blendshapes: Optional[Mapping[str, float]] = None,
            depth: Optional[np.ndarray] = None,
            mask: Optional[np.ndarray] = None) -> LandmarkFit:
        """Fit ``target`` ``[68, 2]`` (pixels of :attr:`camera`); ``init``
        ``[P]`` (e.g. the encoder's output; default the mean face, frontal);
        ``confidence`` ``[68]``: the landmarker's per-point trust (None: all
        1); with it the head pose is fitted with the points so weighted, then
        the shape, scale and position once more with every point alike and
        the pose held. ``blendshapes``: ARKit-named scores of the face
        (MediaPipe's, :class:`tfface.faces.blendshapes.FaceBlendshapes`): the
        expressions not fitted (gaze, cheek puff / squint, nose sneer) and
        those of the eyelids (:data:`SCORED_EXPRESSIONS`) take them before
        the solve. ``depth`` ``[68]``: each point's depth in the same pixels,
        larger farther from the camera (MediaPipe's mesh z): the pose pass's
        head rotation then moves :data:`DEPTH_ROTATION_WEIGHT` of the way to
        the one that aligns the fitted landmarks with the points in 3D, and
        is held for the second pass. ``mask`` ``[68]``: 1 where a point is
        annotated, 0 where not (a profile's hidden half): masked points count
        in no pass and their ``target`` values are ignored (they may be NaN).
        Albedo, light and z translation keep their initial values.
        ``loss_before`` / ``loss_after``: the training objective (every
        point alike, or every annotated one)."""
        if jaw not in JAW_MODES:
            raise ValueError(f"jaw must be one of {JAW_MODES}, got {jaw!r}")
        target = np.asarray(target, np.float64)
        if target.shape != (NUM_LANDMARKS, 2):
            raise ValueError(f"target: shape {target.shape}, expected [68, 2]")
        rotation_held = confidence is not None or depth is not None
        if mask is not None:
            mask = np.asarray(mask, np.float64)
            target = np.where(mask[:, None] > 0, target, 0.0)
            confidence = mask if confidence is None else confidence * mask
        params = (self.layout.zeros(1)[0].astype(np.float64) if init is None else
                  np.array(init, np.float64))
        if params.shape != (self.layout.size,):
            raise ValueError(f"init: shape {params.shape}, expected [{self.layout.size}] "
                             f"(the params of model {self.model.name})")
        for name, values, fix in (("target", target, "fill in missing landmarks"),
                                  ("init", params, "start from finite params")):
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{name}: NaN or infinite values; {fix}")
        params = self._clip(params)
        scored = blendshapes is not None
        if scored:
            params = self._with_scores(params, blendshapes)
        fitted = self._fitted[scored]
        alike = self.point_weights if mask is None else self.weights(mask)
        before = self._loss(self._projection(params, self._vertex_ids(params, jaw)), target, alike)
        weights = self.weights(confidence)
        at, done = self._solve(params, target, jaw, iterations, weights, fitted)
        params = at.params
        if depth is not None:
            turned = depth_rotation(at.local, target, depth, weights, at.rotation)
            params = params.copy()
            params[self.layout.slices["rotation"]] = euler_from_matrix(turned)
        if rotation_held:  # the shape from every point alike, the pose held
            at, more = self._solve(params, target, jaw, iterations, alike,
                                   fitted, hold_rotation=True)
            done += more
        return LandmarkFit(at.params.astype(np.float32), at.pixels, at.ids, before,
                           self._loss(at, target, alike), done, rotation_held)

    def annotation_vertices(self, target: np.ndarray, jaw: str) -> np.ndarray:
        """The vertex ids ``[68]`` that landmarks ``target`` ``[68, 2]``
        (pixels of :attr:`camera`) mark under the jaw convention ``jaw``:
        fixed for ``fixed`` and ``outline``; for ``contour`` those of a fit
        from the mean face (the far side's occluding contour depends on the
        pose). What training compares annotated photos' landmarks with."""
        if jaw == "contour":
            return self.fit(target, jaw=jaw).vertex_ids
        if jaw not in JAW_MODES:
            raise ValueError(f"jaw must be one of {JAW_MODES}, got {jaw!r}")
        return self._vertex_ids(None, jaw)

    def kept_entries(self, scores: Optional[Mapping[str, float]],
                     rotation_held: bool = False) -> np.ndarray:
        """Which params ``[P]`` (bool) a later fit (the photometric one)
        should keep as :meth:`fit` left them: the expressions it set from
        blendshape ``scores`` (none when None) and, when it found and held
        the head rotation first (:attr:`LandmarkFit.rotation_held`), the
        rotation (a landmarker's points pose a photo's head better than the
        renderer's colours do)."""
        entries = np.zeros(self.layout.size, bool)
        if scores is not None:
            entries[self.layout.slices["expression"].start + self.scored_expressions] = True
        entries[self.layout.slices["rotation"]] = rotation_held
        return entries

    def _with_scores(self, params: np.ndarray, scores: Mapping[str, float]) -> np.ndarray:
        """``params`` ``[P]`` with the expressions not fitted when scores are
        given set from ARKit-named ``scores``."""
        names = self.model.expression_names
        weights = model_blendshape_weights(scores, names)
        expression = self.layout.slices["expression"].start
        params = params.copy()
        for i in self.scored_expressions:
            if names[i] in weights:
                params[expression + i] = weights[names[i]]
        return self._clip(params)

    def _vertex_ids(self, params: Optional[np.ndarray], jaw: str) -> np.ndarray:
        if jaw == "contour":
            return self.jaw_vertices(params)
        return outline_landmarks(self.model) if jaw == "outline" else self.model.landmark_indices

    def _solve(self, params: np.ndarray, target: np.ndarray, jaw: str, iterations: int,
               weights: np.ndarray, fitted: np.ndarray,
               hold_rotation: bool = False) -> Tuple["_Projection", int]:
        """Levenberg-Marquardt from ``params`` with per-point ``weights``
        ``[68]``, over the expressions ``fitted`` (indices ``[E]``); the head
        rotation held with ``hold_rotation``.
        Returns the projection of the params it ends at (their landmarks,
        vertex ids and model-space points) and the iterations run."""
        at = self._projection(params, self._vertex_ids(params, jaw))
        current, damping, done = self._loss(at, target, weights), 1e-3, 0
        for done in range(1, iterations + 1):
            step = self._step(at, target, weights, fitted, damping, hold_rotation)
            if step is None:
                break
            trial = self._clip(at.params + step)
            trial_at = self._projection(trial, self._vertex_ids(trial, jaw))
            loss = self._loss(trial_at, target, weights)
            if loss < current:
                at, damping = trial_at, max(damping / 3, 1e-6)
                improvement, current = current - loss, loss
                if improvement < CONVERGED * max(current, 1e-12):
                    break
            else:
                damping *= 10
                if damping > 1e4:
                    break
        return at, done

    def _clip(self, params: np.ndarray) -> np.ndarray:
        """``params`` with rotation angles wrapped into [-pi, pi) and bounded
        expressions clipped to [0, 1] (in place)."""
        rotation = self.layout.slices["rotation"]
        params[rotation] = wrap_angles(params[rotation])
        if self.bounded:
            s = self.layout.slices["expression"]
            params[s] = np.clip(params[s], 0.0, 1.0)
        return params

    def _step(self, at: "_Projection", target: np.ndarray, weights: np.ndarray,
              expressions: np.ndarray, damping: float,
              hold_rotation: bool = False) -> Optional[np.ndarray]:
        """One damped Gauss-Newton step ``[P]`` from ``at`` (zero outside the
        fitted entries, and on the rotation with ``hold_rotation``)."""
        g, s, rotation, local, dpix = at.groups, self.layout.slices, at.rotation, at.local, at.dpix
        _, id_rows, exp_rows = self._rows(at.ids)
        dlocal = dpix @ (at.scale * rotation)       # d pixels / d (model-space point) [68,2,3]
        l0, l1, l2 = (local[:, None, i] for i in range(3))
        d0, d1, d2 = (dlocal[:, :, i] for i in range(3))
        jac = np.concatenate([
            # rotation increment w (R <- R exp([w]x)): -dlocal [local]x = local x dlocal
            np.stack([l1 * d2 - l2 * d1, l2 * d0 - l0 * d2, l0 * d1 - l1 * d0], 2),
            dpix[:, :, :2],                                               # tx, ty
            dlocal @ local[:, :, None],                                   # log scale
            dlocal @ id_rows,                                             # identity
            dlocal @ exp_rows[:, :, expressions],                         # expressions fitted
        ], 2)                                                             # [68, 2, n]
        size = float(self.camera.size[1])
        row = np.sqrt(self.landmark_weight * weights)[:, None] / size
        jac = (jac * row[:, :, None]).reshape(2 * len(at.ids), -1)
        residual = ((at.pixels - target) * row).reshape(-1)
        n_id = self.layout.identity
        prior = np.zeros(jac.shape[1])
        prior[6:6 + n_id] = self.prior_id
        prior[6 + n_id:] = self.prior_exp
        values = np.concatenate([np.zeros(6), g["identity"], g["expression"][expressions]])
        # the normal equations are those of half the loss: J^T r, not 2 J^T r
        gradient = jac.T @ residual + prior * values
        gradient[6 + n_id:] += self.sparsity / 2
        free = np.ones(jac.shape[1], bool)
        free[:3] = not hold_rotation
        lower, upper = np.full(jac.shape[1], -np.inf), np.full(jac.shape[1], np.inf)
        if self.bounded:  # active set: weights at a bound that the gradient pushes outwards
            current = values[6 + n_id:]
            exp_gradient = gradient[6 + n_id:]
            free[6 + n_id:] = ~(((current <= 0) & (exp_gradient > 0))
                                | ((current >= 1) & (exp_gradient < 0)))
            lower[6 + n_id:], upper[6 + n_id:] = -current, 1 - current
        hessian = jac.T @ jac
        hessian.flat[::len(hessian) + 1] += prior
        delta = self._bounded_solve(hessian, gradient, free, lower, upper, damping)
        if delta is None:
            return None
        step = np.zeros_like(at.params)
        new_rotation = rotation @ _rotvec_matrix(delta[:3])
        step[s["rotation"]] = euler_from_matrix(new_rotation) - g["rotation"]
        step[s["translation"].start:s["translation"].start + 2] = delta[3:5]
        step[s["scale"]] = delta[5]
        step[s["identity"]] = delta[6:6 + n_id]
        step[s["expression"].start + expressions] = delta[6 + n_id:]
        return step

    @staticmethod
    def _bounded_solve(hessian: np.ndarray, gradient: np.ndarray, free: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray,
                       damping: float) -> Optional[np.ndarray]:
        """The damped Gauss-Newton step ``[n]`` of the quadratic model
        (``hessian`` ``[n, n]``, ``gradient`` ``[n]``) over the ``free``
        entries (the others 0), kept within ``lower`` .. ``upper`` ``[n]``:
        an entry whose step would cross its bound is pinned there and the
        others solved again (a plain clip of the step, which the model did
        not predict, left Levenberg-Marquardt rejecting every other step and
        still far from converged after 12 iterations). None if singular."""
        delta, free = np.zeros(len(gradient)), free.copy()
        diagonal = np.diag(hessian) + 1e-9
        for _ in range(len(gradient)):
            rows = hessian[free]
            normal = rows[:, free]
            normal.flat[::len(normal) + 1] += damping * diagonal[free]
            pinned = rows[:, ~free] @ delta[~free]
            try:
                solved = -np.linalg.solve(normal, gradient[free] + pinned)
            except np.linalg.LinAlgError:
                return None
            trial = delta.copy()
            trial[free] = solved
            crossing = free & ((trial < lower) | (trial > upper))
            if not crossing.any():
                return trial
            delta[crossing] = np.clip(trial[crossing], lower[crossing], upper[crossing])
            free &= ~crossing
        return delta


def depth_rotation(local: np.ndarray, target: np.ndarray, depth: np.ndarray,
                   weights: np.ndarray, rotation: np.ndarray,
                   towards: float = DEPTH_ROTATION_WEIGHT) -> np.ndarray:
    """Head rotation ``[3, 3]`` moved ``towards`` of the way (slerp) from
    ``rotation`` to the rotation that best aligns model-space landmarks
    ``local`` ``[68, 3]`` with the points ``target`` ``[68, 2]`` (pixels, y
    down) at ``depth`` ``[68]`` (pixels, away from the camera): weighted
    orthogonal Procrustes (Kabsch, scipy's ``Rotation.align_vectors``) on
    the ``weights``-centred points; a uniform scale does not change it.

    Raises:
      ValueError: ``depth`` not 68 finite values.
    """
    depth = np.asarray(depth, np.float64)
    if depth.shape != (NUM_LANDMARKS,) or not np.all(np.isfinite(depth)):
        raise ValueError(f"depth: shape {depth.shape}, expected [68] finite values")
    seen = np.column_stack([target[:, 0], -target[:, 1], -depth])  # y up, z towards the camera
    w = np.asarray(weights, np.float64) / np.sum(weights)
    aligned, _ = Rotation.align_vectors(seen - w @ seen, local - w @ local, weights=w)
    start = Rotation.from_matrix(rotation)
    return (start * Rotation.from_rotvec(towards * (start.inv() * aligned).as_rotvec())
            ).as_matrix()


class _Projection(NamedTuple):
    """``params`` ``[P]`` (their ``groups``) seen at vertices ``ids``
    ``[N]``: ``rotation`` ``[3, 3]``, ``scale``, model-space points
    ``local`` ``[N, 3]`` (about the pose pivot), ``pixels`` ``[N, 2]`` and
    d(pixels)/d(world) ``dpix`` ``[N, 2, 3]``."""

    params: np.ndarray
    ids: np.ndarray
    groups: Dict[str, np.ndarray]
    rotation: np.ndarray
    scale: float
    local: np.ndarray
    pixels: np.ndarray
    dpix: np.ndarray


def _rotvec_matrix(vector: np.ndarray) -> np.ndarray:
    """Rodrigues: rotation vector ``[3]`` -> ``[3, 3]``."""
    angle = np.linalg.norm(vector)
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = vector / angle
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])  # [axis]x
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
