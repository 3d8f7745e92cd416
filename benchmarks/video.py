"""End-to-end video: ``tfface reconstruct clip.mp4`` frames per second and accuracy.

Generates a 720p clip of a synthetic ICT face that moves across the frame,
turns its head (up to 110 degrees/s at 60 frames) and opens its mouth for
8 frames (rendered by tfface's renderer, pasted on a gradient, with eyes
and a mouth interior painted behind the mesh's openings as in training's
photo-like faces), then
reconstructs it with MediaPipe tracking on (with and without smoothing),
tracking off, and dlib. Reports frames per second (whole pipeline:
landmarks, encoder, landmark fit, overlay, video writing), detector runs,
frames with a face, the head pose's error against the clip's truth (mean
over frames and axes), its jitter (mean absolute second difference of that
error from frame to frame) and the peak ``jawOpen`` (truth 0.7); a table
and a JSON line.

    python benchmarks/video.py [--frames 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tfface.data.photoreal import eyes_and_mouth, random_backgrounds  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.morphable import default_model  # noqa: E402
from tfface.inference.reconstruct import FaceReconstructor  # noqa: E402
from tfface.inference.video import reconstruct_video  # noqa: E402

WIDTH, HEIGHT, FACE = 1280, 720, 360
JAW_OPEN = 0.7


def write_clip(path: str, frames: int) -> np.ndarray:
    """A moving, turning synthetic face, ``frames`` frames at 30 fps; returns
    its head pose ``[frames, 3]`` (pitch, yaw, roll degrees)."""
    model = default_model()
    renderer = Renderer.from_model(model, (FACE, FACE))
    layout = renderer.layout
    t = np.linspace(0, 1, frames)
    params = layout.zeros(frames)
    params[:, layout.slices["rotation"]] = np.stack(
        [0.15 * np.sin(4 * np.pi * t), 0.6 * np.sin(2 * np.pi * t), 0.1 * np.sin(6 * np.pi * t)], 1)
    jaw = layout.slices["expression"].start + model.expression_names.index("jawOpen")
    params[:, jaw] = JAW_OPEN * np.clip(1 - np.abs(np.arange(frames) - 0.3 * frames) / 4, 0, 1)
    params[:, layout.slices["illumination"].start + 2] = 0.2
    background = (random_backgrounds(1, (HEIGHT, WIDTH), np.random.default_rng(0))[0] * 255)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30, (WIDTH, HEIGHT))
    for i in range(frames):
        out = renderer(params[i:i + 1])
        face = np.clip(out["image"][0].numpy(), 0, 1) * 255
        mask = np.clip(out["mask"][0].numpy(), 0, 1)
        frame = background.copy()
        x = int(100 + (WIDTH - FACE - 200) * t[i])
        y = int((HEIGHT - FACE) / 2 + 60 * np.sin(2 * np.pi * t[i]))
        behind = eyes_and_mouth(frame[y:y + FACE, x:x + FACE] / 255.0,
                                out["landmarks2d"][0].numpy(), np.random.default_rng(1),
                                gaze=(0.0, 0.0)) * 255
        frame[y:y + FACE, x:x + FACE] = face * mask + behind * (1 - mask)
        writer.write(cv2.cvtColor(frame.astype(np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()
    return np.degrees(params[:, layout.slices["rotation"]])


def accuracy(params_path: str, truth: np.ndarray) -> dict:
    """Pose error and jitter (degrees) against ``truth`` ``[F, 3]``, and the
    peak ``jawOpen``, from a ``<stem>_params.jsonl``."""
    with open(params_path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    found = [r for r in records if r["face"] is not None]
    pose = np.array([[r["face"]["pose_degrees"][k] for k in ("pitch", "yaw", "roll")]
                     for r in found])
    error = pose - truth[[r["frame"] for r in found]]
    return {"pose_error_deg": float(np.abs(error).mean()),
            "jitter_deg": float(np.abs(np.diff(error, 2, axis=0)).mean()),
            "jaw_open_peak": max(r["face"]["expressions"]["jawOpen"] for r in found)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        clip = os.path.join(folder, "clip.mp4")
        truth = write_clip(clip, args.frames)
        for name, landmarker, tracking, smoothing in (
                ("mediapipe, tracking", "mediapipe", True, True),
                ("mediapipe, tracking, unsmoothed", "mediapipe", True, False),
                ("mediapipe, detect every frame", "mediapipe", False, True),
                ("dlib", "dlib", False, True)):
            try:
                reconstructor = FaceReconstructor(landmarker=landmarker)
                reconstructor.landmarker  # noqa: B018 (load before timing)
            except Exception as error:  # dlib not installed
                print(f"{name}: skipped ({error})")
                continue
            out = os.path.join(folder, name.replace(" ", "_").replace(",", ""))
            os.makedirs(out)
            start = time.perf_counter()
            summary = reconstruct_video(reconstructor, clip, out, progress=False,
                                        tracking=tracking, smoothing=smoothing)
            seconds = time.perf_counter() - start
            runs[name] = {"fps": summary["frames"] / seconds, "detections": summary["detections"],
                          "frames_with_face": summary["frames_with_face"],
                          "frames": summary["frames"],
                          **accuracy(os.path.join(out, "clip_params.jsonl"), truth)}
    print(f"{args.frames} frames, {WIDTH}x{HEIGHT}, one synthetic face; whole pipeline")
    print(f"{'':32s} {'fps':>6s} {'detector runs':>14s} {'frames with face':>17s} "
          f"{'pose error':>11s} {'jitter':>7s} {'jawOpen peak':>13s}")
    for name, run in runs.items():
        print(f"{name:32s} {run['fps']:6.1f} {run['detections']:14d} "
              f"{run['frames_with_face']:12d}/{run['frames']} {run['pose_error_deg']:10.2f}° "
              f"{run['jitter_deg']:6.2f}° {run['jaw_open_peak']:8.2f} / {JAW_OPEN}")
    print(json.dumps({"benchmark": "video", "frames": args.frames, "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
