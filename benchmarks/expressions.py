"""Expressions on photo-like renders of known blendshape weights: the landmark fit vs MediaPipe's scores.

Renders faces of the default model (random identity, light and albedo; yaw
within +-40 deg, pitch +-15, roll +-10) making 0-2 common expressions at
0.3-1.0 (:data:`ACTIONS`: jaw open, smile, funnel, pucker, brows up / down,
blink, frown, stretch, squint, lower lip rolled in, lips pressed; sided ones on
both sides), made photo-like as the encoder's training faces are
(:func:`tfface.data.photoreal.photographic`: eyes, mouth interior, brows,
lids, lips, hair, texture, blur, noise, JPEG), and runs ``tfface
reconstruct``'s pipeline on each (MediaPipe's detector and mesh, encoder,
landmark fit). Reports, over the expressions 68 points can see
(:func:`tfface.fitting.landmarks.landmark_expressions`), the mean absolute
error of the weights where the truth is active and their mean where it is 0,
per expression and overall, for the fit's output and, as the peer column,
for MediaPipe's blendshape model's scores of the same faces (mapped onto the
model's names, :func:`tfface.arkit.model_blendshape_weights`), and the head
pose error. A table, then one JSON line.

Renders are not photos: MediaPipe's blendshape model was trained on real
faces and reads these differently (e.g. raised inner brows on most neutral
renders), so its column says how the two readings differ here, not how they
rank on photos.

    python benchmarks/expressions.py [--faces 80]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Dict, Optional, Tuple

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402

from tfface.arkit import model_blendshape_weights  # noqa: E402
from tfface.data.synthetic import photo_like_renders, posed_params  # noqa: E402
from tfface.fitting.landmarks import landmark_expressions  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.params import ROTATION_ORDER  # noqa: E402
from tfface.inference.reconstruct import FaceReconstructor  # noqa: E402

SIZE = 256
ACTIONS = (("jawOpen",), ("mouthSmile_L", "mouthSmile_R"), ("mouthFunnel",), ("mouthPucker",),
           ("browInnerUp_L", "browInnerUp_R"), ("browDown_L", "browDown_R"),
           ("eyeBlink_L", "eyeBlink_R"), ("mouthFrown_L", "mouthFrown_R"),
           ("mouthStretch_L", "mouthStretch_R"), ("eyeSquint_L", "eyeSquint_R"),
           ("mouthRollLower",), ("mouthPress_L", "mouthPress_R"))
"""The expressions the faces make: ICT-FaceKit blendshapes, a sided pair together."""


def expressive_faces(reconstructor: FaceReconstructor, count: int, seed: int
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` photo-like renders, uint8 RGB ``[N, SIZE, SIZE, 3]``, their
    params ``[N, P]`` and landmarks ``[N, 68, 2]`` (the model's, pixels)."""
    renderer = Renderer.from_model(reconstructor.model, (SIZE, SIZE))
    layout = renderer.layout
    names = list(layout.expression_names)
    expression = layout.slices["expression"].start
    rng = np.random.default_rng(seed)
    params = posed_params(layout, count, rng, (15, 40, 10))
    params[:, layout.slices["expression"]] = 0.0
    for face in params:
        for action in rng.choice(len(ACTIONS), rng.integers(0, 3), replace=False):
            weight = rng.uniform(0.3, 1.0)
            for name in ACTIONS[action]:
                face[expression + names.index(name)] = min(1.0, weight * rng.uniform(0.9, 1.1))
    images, landmarks = photo_like_renders(renderer, params, rng)
    return images, params, landmarks


def errors(weights: np.ndarray, truth: np.ndarray) -> Dict[str, Optional[float]]:
    """Mean absolute error of ``weights`` where ``truth`` (same shape) is
    active (None where it never is), their mean where it is 0."""
    active = truth > 0
    return {"active_mae": float(np.abs(weights - truth)[active].mean()) if active.any() else None,
            "inactive_mean": float(weights[~active].mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    reconstructor = FaceReconstructor()
    images, params, true_landmarks = expressive_faces(reconstructor, args.faces, args.seed)
    layout = reconstructor.layout
    names = list(layout.expression_names)
    seen = landmark_expressions(names, len(names))
    expression = layout.slices["expression"]
    fitted, scored, exact, truth, pose_error, seconds = [], [], [], [], [], 0.0
    for image, face_params, points in zip(images, params, true_landmarks):
        start = time.perf_counter()
        found = reconstructor.landmarker(image)[:1]
        faces = reconstructor.reconstruct_detected(image, found)
        seconds += time.perf_counter() - start
        if not faces:
            continue
        weights = model_blendshape_weights(found[0].blendshapes, names)
        fitted.append(faces[0].params[expression][seen])
        exact.append(reconstructor.reconstruct(image, [points], jaw="fixed")[0]
                     .params[expression][seen])
        scored.append([weights.get(names[i], 0.0) for i in seen])
        truth.append(face_params[expression][seen])
        true_pose = np.degrees(layout.split_numpy(face_params)["rotation"])
        pose_error.append(np.abs([faces[0].pose[k] for k in ROTATION_ORDER] - true_pose))
    truth, pose_error = np.array(truth), np.array(pose_error)
    rows = {"landmark fit": np.array(fitted), "MediaPipe scores (peer)": np.array(scored),
            "fit to the exact points": np.array(exact)}
    print(f"{len(truth)} of {len(images)} photo-like renders ({SIZE} px) with a face found, "
          f"{1e3 * seconds / len(images):.0f} ms each; weights of the {len(seen)} expressions "
          "68 points see")
    print(f"{'':26s}{'active MAE':>11s}{'inactive mean':>15s}")
    results = {}
    for label, weights in rows.items():
        results[label] = errors(weights, truth)
        print(f"{label:26s}{results[label]['active_mae']:11.3f}"
              f"{results[label]['inactive_mean']:15.3f}")
    print("per expression (faces making it: MAE fit / peer / exact; the others: mean)")
    per_expression = {}
    for column, index in enumerate(seen):
        active = truth[:, column] > 0
        if not active.any() and max(w[:, column].mean() for w in rows.values()) < 0.05:
            continue
        entry = {label: errors(w[:, column], truth[:, column]) for label, w in rows.items()}
        per_expression[names[index]] = {"active": int(active.sum()), **entry}
        made = " / ".join(f"{e['active_mae']:.2f}" for e in entry.values()) if active.any() \
            else "-"
        idle = " / ".join(f"{e['inactive_mean']:.2f}" for e in entry.values())
        print(f"  {names[index]:18s} n={active.sum():3d}  {made:>18s}   {idle}")
    mean_pose = pose_error.mean(0)
    print("head pose error (pitch / yaw / roll, mean): "
          + " / ".join(f"{v:.2f}" for v in mean_pose) + f", {mean_pose.mean():.2f} deg")
    print(json.dumps({"benchmark": "expressions", "faces": len(images), "found": len(truth),
                      "expressions": len(seen), "results": results,
                      "per_expression": per_expression,
                      "pose_error_deg": dict(zip(ROTATION_ORDER, map(float, mean_pose))),
                      "ms_per_face": 1e3 * seconds / len(images)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
