"""68-point landmarks on real photos: MediaPipe (default) and dlib side by side.

Reads ``../shared/eval/aflw2000_3d`` in place (research evaluation only).
Per landmarker:

* NME (3DDFA protocol, against the re-annotated points) per |yaw| bin and
  their mean, with the face box given (3DDFA's crop box, shrunk by sqrt(2) to
  the landmarks' square box, see ``tfface.evaluation.landmark_box``), and with the
  landmarker's own detector (faces it finds; NME over those);
* detection rate per yaw bin (a detected face whose box centre lies in the
  ground-truth box);
* ms per photo, on one thread and on every core: landmarks in the given
  box, the detector and landmarks on the whole photo, and MediaPipe's
  detector alone (the all-cores pass times the first ``TIMED`` photos).

Then the same NME on ``../shared/eval/300w`` and ``../shared/faces`` (human
annotation of the visible outline). A table, then one JSON line.

    python benchmarks/landmarks.py [--subset subset_150.txt] [--limit N]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from typing import List, Optional

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tfface.data.folder import read_pts  # noqa: E402
from tfface.evaluation import (YAW_BINS, aflw2000, landmark_box, nme_3ddfa,  # noqa: E402
                               yaw_bin_means)
from tfface.faces import read_image  # noqa: E402
from tfface.faces.landmarks import make_landmarker  # noqa: E402
from tfface.faces.mediapipe import cpu_threads  # noqa: E402
from tfface.landmark_sources import LANDMARKERS  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
DATA = os.path.join(SHARED, "eval", "aflw2000_3d")
TIMED = 300


def _inside(box: np.ndarray, truth: np.ndarray) -> bool:
    centre = (box[:2] + box[2:]) / 2
    return bool(np.all(centre >= truth.min(0)) and np.all(centre <= truth.max(0)))


def timed(call, *args):
    """``call(*args)`` and the ms it took."""
    start = time.perf_counter()
    result = call(*args)
    return result, 1e3 * (time.perf_counter() - start)


def detector_ms(landmarker, photo) -> Optional[float]:
    """ms of MediaPipe's detector alone on ``photo`` (None for dlib's landmarker)."""
    detector = getattr(landmarker, "detector", None)
    return timed(detector, photo)[1] if detector is not None else None


def mean_ms(values: List[Optional[float]]) -> Optional[float]:
    return None if None in values else float(np.mean(values))


def timings(name: str, items, threads: int, progress: bool) -> dict:
    """Mean ms per photo of the landmarker on ``threads`` threads (no accuracy)."""
    landmarker = make_landmarker(name, threads)
    ms = {"landmarks_in_box": [], "detect_and_landmarks": [], "detector": []}
    for item in tqdm(items, unit="photo", desc=f"{name}, {threads} threads",
                     disable=not progress):
        photo = read_image(item["path"])
        ms["landmarks_in_box"].append(
            timed(landmarker.landmarks_in_box, photo, landmark_box(item["box"]))[1])
        ms["detect_and_landmarks"].append(timed(landmarker, photo)[1])
        ms["detector"].append(detector_ms(landmarker, photo))
    return {key: mean_ms(values) for key, values in ms.items()}


def evaluate(name: str, items, progress: bool) -> dict:
    landmarker = make_landmarker(name, threads=1)
    given, detected, found, bins = [], [], [], []
    detect_ms, landmark_ms, detector_only_ms = [], [], []
    for item in tqdm(items, unit="photo", desc=name, disable=not progress):
        photo = read_image(item["path"])
        points, ms = timed(landmarker.landmarks_in_box, photo, landmark_box(item["box"]))
        given.append(nme_3ddfa(points, item["reannotated"]))
        landmark_ms.append(ms)
        faces, ms = timed(landmarker, photo)
        faces = [f for f in faces  # the mesh must see the face to count it found
                 if f.problem != "face_unconfirmed" and _inside(f.box, item["reannotated"])]
        detect_ms.append(ms)
        detector_only_ms.append(detector_ms(landmarker, photo))
        found.append(bool(faces))
        detected.append(nme_3ddfa(faces[0].landmarks, item["reannotated"]) if faces else np.nan)
        bins.append(item["yaw_bin"])
    bins, found, detected = np.array(bins), np.array(found), np.array(detected)
    return {
        "nme_pct_given_box": {k: 100 * v for k, v in yaw_bin_means(np.array(given), bins).items()},
        "nme_pct_own_detector": {k: 100 * v for k, v in
                                 yaw_bin_means(detected[found], bins[found]).items()},
        "detection_rate_pct": {k: 100 * v for k, v in yaw_bin_means(found.astype(float),
                                                                     bins).items()},
        "ms_landmarks_in_box": float(np.mean(landmark_ms)),
        "ms_detect_and_landmarks": float(np.mean(detect_ms)),
        "ms_detector": mean_ms(detector_only_ms),
        "threads": cpu_threads(),
        "ms_all_threads": timings(name, items[:TIMED], cpu_threads(), progress),
        "photos_300w_and_faces": annotated_photos(landmarker),
    }


def annotated_photos(landmarker) -> dict:
    """NME per photo of ``../shared/eval/300w`` and ``../shared/faces`` (own detector)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(SHARED, "eval", "300w", "*.png"))
                       + glob.glob(os.path.join(SHARED, "faces", "*.*"))):
        pts = os.path.splitext(path)[0] + ".pts"
        if path.endswith(".pts") or not os.path.isfile(pts):
            continue
        truth = read_pts(pts)
        faces = [f for f in landmarker(read_image(path)) if _inside(f.box, truth)]
        out[os.path.basename(path)] = 100 * nme_3ddfa(faces[0].landmarks, truth) if faces \
            else None
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--subset", help="file of image names, e.g. subset_150.txt")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--landmarkers", default=",".join(LANDMARKERS))
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.data, "gt.json")):
        print(f"skipped: {args.data} not present (../shared is only in the development checkout)")
        return 0
    items = aflw2000(args.data, args.subset, args.limit)
    report = {"images": len(items), "landmarkers": {}}
    for name in args.landmarkers.split(","):
        report["landmarkers"][name] = evaluate(name, items, args.progress)
    print(f"AFLW2000-3D, {len(items)} images; NME % (3DDFA protocol) per |yaw| bin")
    print(f"{'landmarker':10s} {'box':8s} " + " ".join(f"{b:>8s}" for b in YAW_BINS)
          + f" {'mean':>6s}  {'ms':>6s}")
    for name, entry in report["landmarkers"].items():
        for key, label, ms in (("nme_pct_given_box", "given", "ms_landmarks_in_box"),
                               ("nme_pct_own_detector", "detected", "ms_detect_and_landmarks"),
                               ("detection_rate_pct", "found %", None)):
            row = entry[key]
            print(f"{name:10s} {label:8s} " + " ".join(f"{row[b]:8.2f}" for b in YAW_BINS)
                  + f" {row['mean']:6.2f}  " + (f"{entry[ms]:6.1f}" if ms else ""))
        every = entry["ms_all_threads"]
        pairs = [(label, entry[f"ms_{key}"], every[key]) for label, key in (
            ("box given", "landmarks_in_box"), ("detect + landmarks", "detect_and_landmarks"),
            ("detector alone", "detector"))]
        print(f"{'':10s} ms per photo, 1 / {entry['threads']} threads: " + ", ".join(
            f"{label} {one:.1f} / {many:.1f}" for label, one, many in pairs if one is not None))
        photos = ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}"
                           for k, v in entry["photos_300w_and_faces"].items())
        print(f"{'':10s} 300-W + faces NME %: {photos}")
    print(json.dumps({"benchmark": "landmarks", **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
