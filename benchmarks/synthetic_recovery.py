"""Train on synthetic faces within a CPU time budget, then measure recovery.

Renders random FaceParams with tfface's own renderer (demo model by default,
``--model ../shared/models/sfm/sfm_3448.npz`` for the Surrey model), trains
the encoder for ``--minutes``, and reports on held-out synthetic faces:
mean vertex error after rigid (Procrustes) alignment of the model-space
shape, 68-landmark error in pixels, and the same errors of the mean-face
baseline (what an untrained encoder predicts). Units: mm (and % of face width).

    python benchmarks/synthetic_recovery.py [--minutes 10] [--model M.npz]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfface.data.pipeline import arrays_dataset  # noqa: E402
from tfface.data.synthetic import render_synthetic  # noqa: E402
from tfface.encoders import build_encoder  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.model import FaceAutoencoder  # noqa: E402
from tfface.morphable import MorphableModel, load_model  # noqa: E402


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


def rigid_error(predicted: np.ndarray, target: np.ndarray) -> float:
    """Mean vertex distance after the best rotation + translation (Kabsch)."""
    p = predicted - predicted.mean(0)
    t = target - target.mean(0)
    u, _, vt = np.linalg.svd(p.T @ t)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1, 1, d]) @ vt
    return float(np.linalg.norm(p @ rotation - t, axis=1).mean())


def model_space(model: MorphableModel, layout, params: np.ndarray) -> np.ndarray:
    groups = layout.split_numpy(params)
    return np.stack([model.shape(i, e) for i, e in zip(groups["identity"], groups["expression"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="morphable model .npz (default: demo model)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--train", type=int, default=1024, help="synthetic training faces")
    parser.add_argument("--test", type=int, default=128, help="held-out faces")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--regularization", type=float, default=1e-3,
                        help="weight on identity/expression/albedo squared norms")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = load_model(args.model)
    renderer = Renderer.from_model(model, (args.size, args.size))
    layout = renderer.layout
    start = time.monotonic()
    train = render_synthetic(renderer, args.train, seed=1)
    test = render_synthetic(renderer, args.test, seed=2)
    render_s = time.monotonic() - start

    reg = {g: args.regularization for g in ("identity", "expression", "albedo")}
    autoencoder = FaceAutoencoder(build_encoder(layout, input_size=args.size), renderer,
                                  regularization=reg)
    autoencoder.compile(optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(2e-3, 4000, alpha=0.05)))
    limit = TimeLimit(args.minutes * 60)
    autoencoder.fit(arrays_dataset(train, args.batch, seed=0, augment=False),
                    steps_per_epoch=100, epochs=10 ** 6, callbacks=[limit], verbose=0)
    train_s = time.monotonic() - start - render_s

    predicted = autoencoder.encoder.predict(test["image"], batch_size=32, verbose=0)
    truth = model_space(model, layout, test["params"])
    recovered = model_space(model, layout, predicted)
    mean_face = model.mean_shape
    vertex = np.mean([rigid_error(p, t) for p, t in zip(recovered, truth)])
    baseline = np.mean([rigid_error(mean_face, t) for t in truth])
    landmarks = renderer.landmarks(predicted).numpy()
    lm_error = np.linalg.norm(landmarks - test["landmarks"], axis=-1).mean()
    baseline_lm = renderer.landmarks(layout.zeros(len(predicted))).numpy()
    lm_baseline = np.linalg.norm(baseline_lm - test["landmarks"], axis=-1).mean()
    width = model.width
    result = {
        "benchmark": "synthetic_recovery", "model": model.name, "units": model.units,
        "image_size": args.size, "train_faces": args.train, "test_faces": args.test,
        "regularization": args.regularization,
        "steps": limit.steps, "train_seconds": round(train_s, 1),
        "vertex_error": float(vertex), "vertex_error_baseline": float(baseline),
        "vertex_error_pct_width": float(100 * vertex / width),
        "vertex_error_baseline_pct_width": float(100 * baseline / width),
        "landmark_error_px": float(lm_error), "landmark_error_baseline_px": float(lm_baseline),
    }
    print(f"{model.name}: {limit.steps} steps in {train_s:.0f} s; vertex error "
          f"{vertex:.2f} {model.units} ({result['vertex_error_pct_width']:.2f}% of face width) "
          f"vs mean-face baseline {baseline:.2f} {model.units} "
          f"({result['vertex_error_baseline_pct_width']:.2f}%); landmark error {lm_error:.2f} px "
          f"vs baseline {lm_baseline:.2f} px at {args.size} px")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
