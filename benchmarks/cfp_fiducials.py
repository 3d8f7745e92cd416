"""Derive CFP's fiducial -> iBUG 68 correspondence and its pixel origin.

On CFP frontal photos (people 1-60, three photos each) where MediaPipe's
landmarker confirms one face, each of the 30 fiducials is matched to the
iBUG point (of MediaPipe's 68, mirrored where the fiducials lie on the
image's right half) of least median distance, in units of the eye
distance. The pixel origin is read from the mean offset fiducial -
MediaPipe's point, against the same offset on HELEN photos, whose ``.pts``
are 1-based by 300-W's definition (read 0-based by tfface): a 1-based set
is offset by about 1 px more. Prints one JSON line; the table it gives is
:data:`tfface.data.photo_sets.CFP_TO_IBUG`.

    python benchmarks/cfp_fiducials.py
"""

from __future__ import annotations

import glob
import json
import os

from tfface.quiet import quiet_script

quiet_script()

import numpy as np  # noqa: E402

from tfface.data.folder import read_pts  # noqa: E402
from tfface.data.photo_sets import CFP_TO_IBUG  # noqa: E402
from tfface.faces.image_io import read_image  # noqa: E402
from tfface.faces.landmarks import make_landmarker  # noqa: E402
from tfface.faces.mesh_map import IBUG_MIRROR  # noqa: E402

PHOTOS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "photos")


def one_face(landmarker, path: str):
    faces = [face for face in landmarker(read_image(path)) if face.problem is None]
    return faces[0].landmarks if len(faces) == 1 else None


def eye_distance(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, 36:42].mean(1) - points[:, 42:48].mean(1), axis=1)


def main() -> None:
    landmarker = make_landmarker("mediapipe")
    with open(os.path.join(PHOTOS, "cfp", "fiducials.json"), encoding="utf-8") as handle:
        fiducials = json.load(handle)["points"]
    raw, mesh = [], []
    for person in range(1, 61):
        for photo in (1, 4, 7):
            key = f"{person:03d}/frontal/{photo:02d}"
            found = one_face(landmarker, os.path.join(PHOTOS, "cfp", "images", key + ".jpg"))
            if found is not None:
                raw.append(fiducials[key])
                mesh.append(found)
    raw, mesh = np.array(raw), np.array(mesh)
    left = raw[:, 0, 0] < raw[:, 21, 0]  # the jaw's ear end left of the nose tip
    mesh = np.where(left[:, None, None], mesh, mesh[:, IBUG_MIRROR])
    scale = eye_distance(mesh)[:, None]
    matches = []
    for fiducial in range(raw.shape[1]):
        distance = np.median(np.linalg.norm(mesh - raw[:, fiducial:fiducial + 1], axis=2) / scale, 0)
        nearest = np.argsort(distance)[:2]
        matches.append({"fiducial": fiducial, "ibug": int(nearest[0]),
                        "median_eye_distances": round(float(distance[nearest[0]]), 3),
                        "runner_up": int(nearest[1]),
                        "runner_up_distances": round(float(distance[nearest[1]]), 3)})
    used = [(f, i) for f, i in enumerate(CFP_TO_IBUG) if i is not None]
    cfp_offset = np.mean([raw[:, f] - mesh[:, i] for f, i in used], (0, 1))
    helen, helen_mesh = [], []
    for path in sorted(glob.glob(os.path.join(PHOTOS, "helen_afw", "helen_train", "*.jpg")))[:120]:
        found = one_face(landmarker, path)
        if found is not None:
            helen.append(read_pts(path[:-4] + ".pts"))
            helen_mesh.append(found)
    ids = [i for _, i in used]
    helen_offset = np.mean(np.array(helen)[:, ids] - np.array(helen_mesh)[:, ids], (0, 1))
    print(json.dumps({"benchmark": "cfp_fiducials", "photos": int(len(raw)),
                      "left_half": int(left.sum()), "matches": matches,
                      "cfp_minus_mediapipe_px": np.round(cfp_offset, 2).tolist(),
                      "helen_0_based_minus_mediapipe_px": np.round(helen_offset, 2).tolist(),
                      "nearest_differs_from_table": [
                          m["fiducial"] for m, i in zip(matches, CFP_TO_IBUG)
                          if i is not None and m["ibug"] != i]}))


if __name__ == "__main__":
    main()
