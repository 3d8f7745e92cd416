"""Train on synthetic faces within a CPU time budget, then measure recovery.

Renders random FaceParams with tfface's own renderer (ICT-FaceKit by default,
``--morphable-model ../shared/models/sfm/sfm_3448.npz`` for the Surrey model), trains
the encoder for ``--minutes``, and reports on held-out synthetic faces:
mean vertex error after rigid (Procrustes) alignment of the model-space
shape over the face region (vertices within 0.6 face widths of the nose tip,
as the NoW benchmark crops 95 mm around it; the back of the demo head is
never seen), the same after the best similarity (``+ scale``: uniform scale
too, as NoW aligns; one photo does not fix a face's absolute size, which
FaceParams' scale and the identity's size trade) and the rigid error over
the whole mesh, 68-landmark error in pixels, and the same errors of the
mean-face baseline (what an untrained encoder predicts), and the mean
head-pose error. Units: model units (mm for real models) and % of
face width. Faces are aligned as photos are at inference. ``--fit N`` also
reports the encoder followed by N fitting steps; ``--encoder`` evaluates a
trained encoder instead of training one. Every run also reports the encoder
followed by the landmark fit (``tfface reconstruct``'s default stage).

    python benchmarks/synthetic_recovery.py [--minutes 10] [--morphable-model M.npz] [--fit 100]
    python benchmarks/synthetic_recovery.py --encoder tfface/assets/synthetic_encoder.keras
"""

from __future__ import annotations

import argparse
import json
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from tfface.data.pipeline import arrays_dataset  # noqa: E402
from tfface.data.synthetic import render_synthetic  # noqa: E402
from tfface.training.autoencoder import FaceAutoencoder  # noqa: E402
from tfface.encoders import build_encoder  # noqa: E402
from tfface.face_loss import FaceLoss  # noqa: E402
from tfface.faces.align import mean_face_template  # noqa: E402
from tfface.fitting import LandmarkFitter, fit_params  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.morphable import MorphableModel, load_model  # noqa: E402
from tfface.runtime import KerasEncoder, load_encoder  # noqa: E402


class TimeLimit(keras.callbacks.Callback):
    """Stop training after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.deadline = time.monotonic() + seconds
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.monotonic() > self.deadline:
            self.model.stop_training = True


def aligned_error(predicted: np.ndarray, target: np.ndarray, scale: bool = False) -> float:
    """Mean vertex distance ``predicted`` ``[N, 3]`` to ``target`` after the
    best rotation + translation (+ uniform scale with ``scale``), by
    :func:`trimesh.registration.procrustes`."""
    _, moved, _ = trimesh.registration.procrustes(predicted, target, reflection=False,
                                                  scale=scale)
    return float(np.linalg.norm(moved - target, axis=1).mean())


def face_region(model: MorphableModel, radius_widths: float = 0.6) -> np.ndarray:
    """Vertex ids within ``radius_widths`` face widths of the nose tip (landmark 30)."""
    nose = model.mean_shape[model.landmark_indices[30]]
    distance = np.linalg.norm(model.mean_shape - nose, axis=1)
    return np.flatnonzero(distance < radius_widths * model.width)


def model_space(model: MorphableModel, layout, params: np.ndarray) -> np.ndarray:
    groups = layout.split_numpy(params)
    return np.stack([model.shape(i, e) for i, e in zip(groups["identity"], groups["expression"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--morphable-model", help="morphable model .npz or ict / demo (default: ict)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--train", type=int, default=4096, help="synthetic training faces")
    parser.add_argument("--test", type=int, default=128, help="held-out faces")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--regularization", type=float, default=1e-3,
                        help="weight on identity/expression/albedo squared norms")
    parser.add_argument("--landmark-weight", type=float, default=1000.0)
    parser.add_argument("--photometric-weight", type=float, default=1.0)
    parser.add_argument("--landmark-emphasis", type=float, default=1.0,
                        help="weight of the nose bridge and inner mouth points (others 1)")
    parser.add_argument("--shape-weight", type=float, default=1000.0,
                        help="weight of the supervised shape term (true params of the "
                             "synthetic training faces)")
    parser.add_argument("--fit", type=int, default=0, metavar="N",
                        help="also report the errors after N fitting steps from the encoder's "
                        "output (tfface reconstruct --fit N)")
    parser.add_argument("--photo-like", action="store_true",
                        help="held-out faces rendered photo-like (tfface.data.photoreal)")
    parser.add_argument("--encoder", help="evaluate this trained encoder (.keras/.tflite/.onnx) "
                        "instead of training one, e.g. tfface/assets/synthetic_encoder.keras")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = load_model(args.morphable_model)
    runtime = None
    if args.encoder:
        runtime = load_encoder(args.encoder)
        args.size, args.train, args.minutes = runtime.input_size, 0, 0.0
    renderer = Renderer.from_model(model, (args.size, args.size))
    layout = renderer.layout
    start = time.monotonic()
    template = mean_face_template(model, renderer.camera.pinhole)
    train = render_synthetic(renderer, args.train, seed=1, template=template) if args.train \
        else None
    test = render_synthetic(renderer, args.test, seed=2, template=template,
                            photo_like=args.photo_like)
    render_s = time.monotonic() - start

    limit = TimeLimit(args.minutes * 60)
    if runtime is None:
        face_loss = FaceLoss({
            "landmark": args.landmark_weight, "landmark_emphasis": args.landmark_emphasis,
            "photometric": args.photometric_weight, "shape": args.shape_weight,
            "regularization": {g: args.regularization for g in ("identity", "expression",
                                                                "albedo")}})
        autoencoder = FaceAutoencoder(build_encoder(layout, input_size=args.size), renderer,
                                      face_loss)
        autoencoder.compile(optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(2e-3, 4000, alpha=0.05)))
        autoencoder.fit(arrays_dataset(train, args.batch, seed=0, augment=False),
                        steps_per_epoch=100, epochs=10 ** 6, callbacks=[limit], verbose=0)
        runtime = KerasEncoder.from_model(autoencoder.encoder)
    train_s = time.monotonic() - start - render_s

    predicted = runtime.predict(test["image"])
    fitter = LandmarkFitter(model, renderer.camera)
    landmark_fitted = np.stack([fitter.fit(lm, p, jaw="fixed").params
                                for lm, p in zip(test["landmarks"], predicted)])
    runs = {"encoder": recovery_errors(model, renderer, test, predicted),
            "+landmark fit": recovery_errors(model, renderer, test, landmark_fitted),
            "baseline": recovery_errors(model, renderer, test, layout.zeros(len(predicted)))}
    if args.fit:
        fitted = fit_params(renderer, test["image"], test["landmarks"], init=landmark_fitted,
                            steps=args.fit, progress=True).params
        runs[f"encoder+fit{args.fit}"] = recovery_errors(model, renderer, test, fitted)
    result = {
        "benchmark": "synthetic_recovery", "model": model.name, "units": model.units,
        "image_size": args.size, "train_faces": args.train, "test_faces": args.test,
        "regularization": args.regularization, "landmark_weight": args.landmark_weight,
        "photometric_weight": args.photometric_weight,
        "landmark_emphasis": args.landmark_emphasis, "shape_weight": args.shape_weight,
        "steps": limit.steps,
        "train_seconds": round(train_s, 1), "face_region_vertices": int(len(face_region(model))),
        "face_width": model.width, **{name: errors for name, errors in runs.items()},
    }
    print(f"{model.name}, {args.size} px, {limit.steps} training steps in {train_s:.0f} s; "
          f"held-out faces: {args.test}")
    print(f"{'':14s} {'face-region vertex':>20s} {'+ scale':>9s} {'whole mesh':>12s} "
          f"{'landmarks':>10s} {'pose error pitch/yaw/roll':>26s}")
    for name, e in runs.items():
        pct = 100 * e["vertex_error"] / model.width
        pose = "/".join(f"{v:.1f}" for v in e["pose_error_degrees"])
        print(f"{name:14s} {e['vertex_error']:8.2f} {model.units} ({pct:4.2f}%) "
              f"{e['vertex_error_with_scale']:6.2f} {model.units} "
              f"{e['whole_mesh_vertex_error']:9.2f} {model.units} "
              f"{e['landmark_error_px']:7.2f} px {pose:>22s} deg")
    print(json.dumps(result))


def recovery_errors(model: MorphableModel, renderer: Renderer, test, predicted: np.ndarray):
    """Errors of predicted params ``[N, P]`` against the held-out truth."""
    layout = renderer.layout
    truth = model_space(model, layout, test["params"])
    recovered = model_space(model, layout, predicted)
    region = face_region(model)
    rotation = [layout.split_numpy(p)["rotation"] for p in (predicted, test["params"])]
    landmarks = renderer.compute_for_render(predicted)["landmarks2d"].numpy()
    return {
        "vertex_error": float(np.mean([aligned_error(p[region], t[region])
                                       for p, t in zip(recovered, truth)])),
        "vertex_error_with_scale": float(np.mean([aligned_error(p[region], t[region], True)
                                                  for p, t in zip(recovered, truth)])),
        "whole_mesh_vertex_error": float(np.mean([aligned_error(p, t)
                                                  for p, t in zip(recovered, truth)])),
        "landmark_error_px": float(np.linalg.norm(landmarks - test["landmarks"], axis=-1).mean()),
        "pose_error_degrees": np.degrees(np.abs(rotation[0] - rotation[1]).mean(0)).tolist(),
    }


if __name__ == "__main__":
    main()
