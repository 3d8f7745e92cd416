"""Videos: per-frame reconstruction, One-Euro smoothing, overlay video + params."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from typing import Dict, List, Optional

import cv2
import numpy as np
from tqdm import tqdm

from tfface.encoders import GROUP_SCALES
from tfface.errors import TfFaceError
from tfface.faces.landmarks import DetectedFace
from tfface.io_utils import atomic_output, out_of_space
from tfface.overlay import write_image
from tfface.inference.texture import TextureAccumulator, face_texture

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
VIDEO_ROOM_BYTES = 16 << 20
"""Free bytes below which a video that failed to write is put down to a full disk."""
SMOOTHED_GROUPS = ("expression", "rotation", "translation", "scale")
SMOOTHING_BETA = 1.0
"""The One-Euro filters' speed coefficient in the encoder's output units
(:data:`tfface.encoders.GROUP_SCALES`: ~30 degrees of rotation, 10 mm, a
blendshape's full weight), so each group's cutoff rises alike with its
speed. On ``benchmarks/video.py``'s clip (a synthetic head turning at up to
110 degrees/s, mouth open for 8 frames), before its eyes and mouth were
painted: pose error 1.9 degrees and jitter (frame-to-frame second difference
of the error) 0.4, where unsmoothed frames give 1.5 / 1.0; beta 0.5 gave
2.4 / 0.3, 2.0 1.6 / 0.5 (painted: 2.0 / 0.4, unsmoothed 1.2 / 0.9). Before, a
beta of 0.05 in natural units (radians, mm) for every group lagged behind
a turning head: 4.3 / 0.2, and the mouth opening came out at 0.13 instead
of 0.20 (0.33 unsmoothed, of a true 0.7)."""


CONFIDENCE_SMOOTHING = 0.3
"""How much of a tracked face's per-point fit confidence each frame brings:
the landmark fit weights a frame's points by their exponential moving
average over the track (restarted when the face is lost), as a point's
reliability changes slowly while the flip disagreement that estimates it
(:func:`tfface.faces.mesh_map.flip_confidence`) is noisy from frame to
frame. On ``benchmarks/video.py``'s clip (the one value tried; before the
fit used the points' depth): pose error / jitter with tracking 2.06 / 0.44
-> 2.01 / 0.40 degrees, unsmoothed 1.25 / 1.09 -> 1.20 / 0.94."""


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012) on vectors ``[N]``.

    A low-pass filter whose cutoff rises with speed: steady values are
    smoothed (``min_cutoff`` Hz), fast motion follows with little lag
    (``beta`` raises the cutoff per unit of speed).
    """

    def __init__(self, rate: float, min_cutoff: float = 1.0, beta: float = 0.05,
                 derivative_cutoff: float = 1.0) -> None:
        self.rate, self.min_cutoff, self.beta = rate, min_cutoff, beta
        self.derivative_cutoff = derivative_cutoff
        self.value: Optional[np.ndarray] = None
        self.derivative: Optional[np.ndarray] = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.rate)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.value is None:
            self.value, self.derivative = x, np.zeros_like(x)
            return x
        speed = (x - self.value) * self.rate
        a_d = self._alpha(self.derivative_cutoff)
        self.derivative = a_d * speed + (1 - a_d) * self.derivative
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.derivative))
        self.value = a * x + (1 - a) * self.value
        return self.value


def smoothing_filters(fps: float) -> Dict[str, OneEuroFilter]:
    """One filter per group of :data:`SMOOTHED_GROUPS`, for ``fps`` frames a
    second, its beta :data:`SMOOTHING_BETA` in that group's output units."""
    return {group: OneEuroFilter(fps, beta=SMOOTHING_BETA / GROUP_SCALES.get(group, 1.0))
            for group in SMOOTHED_GROUPS}


def reconstruct_video(reconstructor, path: str, out_dir: str, smoothing: bool = True,
                      fit_steps: int = 0, progress: bool = True, tracking: bool = True,
                      texture_size: int = 0) -> dict:
    """Overlay video ``<stem>_overlay.mp4`` and per-frame ``<stem>_params.jsonl``
    (the best-scoring face per frame; ``"face": null`` when none is found);
    a :class:`TfFaceError` and neither file when no frame shows a face.

    ``tracking`` (with a landmarker that can track, MediaPipe's): each frame
    is cropped from the last frame's landmarks and the detector runs only
    when the track is lost (the summary counts ``detections``).
    ``texture_size``: also ``<stem>_texture.png`` and ``<stem>_albedo.png``,
    one UV texture of the track accumulated over its frames (per texel, the
    frame that saw it most squarely wins)."""
    from tfface.inference.outputs import overlay
    capture = cv2.VideoCapture(path)
    ok, frame = capture.read() if capture.isOpened() else (False, None)
    if not ok and capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 0:
        raise TfFaceError(f"{path}: the video holds no frames; give a video with frames")
    if not ok:
        raise TfFaceError(f"{path}: cannot decode this video (unsupported codec or not a "
                          "video); convert it to H.264 .mp4 or give the frames as images")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    stem = os.path.splitext(os.path.basename(path))[0]
    filters = smoothing_filters(fps) if smoothing else {}
    layout = reconstructor.layout
    found = 0
    tracker = _FaceTrack(reconstructor.landmarker, tracking)
    textures = TextureAccumulator() if texture_size > 0 else None
    video_path = os.path.join(out_dir, f"{stem}_overlay.mp4")
    params_path = os.path.join(out_dir, f"{stem}_params.jsonl")
    with atomic_output(video_path) as video_tmp, atomic_output(params_path) as params_tmp, \
            open(params_tmp, "w", encoding="utf-8") as params_file:
        height, width = frame.shape[:2]
        writer = cv2.VideoWriter(video_tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        bar = tqdm(total=total, unit="frame", disable=not progress)
        index = 0
        while ok:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            faces = reconstructor.reconstruct_detected(rgb, tracker(rgb), fit_steps=fit_steps)
            record = {"frame": index, "time": index / fps, "face": None}
            if faces:
                found += 1
                face = faces[0]
                if filters:
                    # smoothed in the photo's frame: a levelled crop's roll differs by its own
                    params = layout.rolled(face.params, face.aligned.roll)
                    for group, smoother in filters.items():
                        params[layout.slices[group]] = smoother(params[layout.slices[group]])
                    face = reconstructor.describe(layout.rolled(params, -face.aligned.roll),
                                                  face.aligned, face.input_landmarks,
                                                  face.fit, face.landmark_vertices)
                record["face"] = face.to_json()
                if textures is not None:
                    textures.add(face_texture(reconstructor, rgb, face, texture_size))
                rgb = overlay(rgb, [face], reconstructor)
            params_file.write(json.dumps(record) + "\n")
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            bar.update(1)
            index += 1
            ok, frame = capture.read()
        bar.close()
        writer.release()
        capture.release()
        if not found:  # as for a photo: an error, and neither file is written
            raise TfFaceError(f"{path}: no face found in any of its {index} frames; use a video "
                              f"showing a {reconstructor.findable_face}")
        _check_written_video(video_tmp, video_path, index)
    summary = {"frames": index, "frames_with_face": found, "detections": tracker.detections,
               "video": video_path, "params": params_path}
    texture = textures.result() if textures is not None else None
    if texture is not None:
        for kind in ("texture", "albedo"):
            summary[kind] = os.path.join(out_dir, f"{stem}_{kind}.png")
            write_image(summary[kind], texture.photo if kind == "texture" else texture.albedo)
    return summary


def _check_written_video(written: str, path: str, frames: int) -> None:
    """Raise unless ``written`` reads back as a video of ``frames`` frames:
    OpenCV's writer does not report a failed write (a full disk leaves a
    file without its index)."""
    capture = cv2.VideoCapture(written)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    readable = capture.isOpened() and capture.read()[0]
    capture.release()
    if not readable or (count > 0 and count != frames):
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(written))).free
        if free < VIDEO_ROOM_BYTES:
            raise out_of_space(path)
        raise TfFaceError(f"{path}: the video writer failed (it reads back {count} of "
                          f"{frames} frames); choose another --out or re-run")


class _FaceTrack:
    """One face followed through a video: ``track(frame)`` -> ``[DetectedFace]``
    or ``[]``, its per-point confidence smoothed over the frames
    (:data:`CONFIDENCE_SMOOTHING`)."""

    def __init__(self, landmarker, tracking: bool) -> None:
        self.landmarker = landmarker
        self.tracking = tracking and hasattr(landmarker, "track")
        self.last = None
        self.detections = 0
        self.confidence: Optional[np.ndarray] = None

    def __call__(self, rgb: np.ndarray) -> List[DetectedFace]:
        faces = self._find(rgb)
        if not faces or faces[0].confidence is None:
            self.confidence = None
            return faces
        own = faces[0].confidence
        self.confidence = own if self.confidence is None else \
            CONFIDENCE_SMOOTHING * own + (1 - CONFIDENCE_SMOOTHING) * self.confidence
        return [dataclasses.replace(faces[0], confidence=self.confidence)]

    def _find(self, rgb: np.ndarray) -> List[DetectedFace]:
        if self.tracking and self.last is not None:
            self.last = self.landmarker.track(rgb, self.last)
            if self.last is not None:
                return [self.last]
        self.detections += 1
        usable = [f for f in self.landmarker(rgb) if f.problem is None]
        self.last = usable[0] if usable and self.tracking else None
        return usable[:1]
