"""Development figures of encoders on real photos (never AFLW2000-3D).

The sets held out of ``configs/photo_encoder.yaml``: HELEN's test split (68
human points) and CFP people 401-450 (30 fiducials on the seen half of the
face, 200 real profiles). Each photo is aligned from its human points
(box given; for CFP's partial sets from the 68 points of a landmark fit to
them, :func:`tfface.data.photo_sets.prepare_photo`) and the encoder's params
alone are measured:

- NME: mean distance of the annotated points to the encoder's projected
  model points (the jaw by its set's convention at the encoder's pose),
  over the square root of the annotated points' box area (AFLW2000-3D's
  normalisation), in %;
- pose: the mean absolute difference (degrees) of yaw / pitch / roll from
  the landmark fit to the human points (a reference, not the truth).

One JSON line per encoder (names of shipped encoders or files):

    python benchmarks/photo_dev.py --encoders synthetic tfface/assets/photo_encoder.keras
"""

from __future__ import annotations

import argparse
import json
import os

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402

from tfface.data.photo_sets import photo_arrays, read_cfp, read_pts_set  # noqa: E402
from tfface.encoders import encoder_file  # noqa: E402
from tfface.fitting.landmarks import LandmarkFitter  # noqa: E402
from tfface.morphable import load_model  # noqa: E402
from tfface.params import ROTATION_ORDER, FaceParams  # noqa: E402
from tfface.pinhole import PinholeCamera  # noqa: E402
from tfface.runtime import load_encoder  # noqa: E402

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "photos")
SIZE = 112


def held_out_sets(root: str):
    """``{name: arrays}`` of the held-out sets, aligned and fitted."""
    sets = {"helen_test": read_pts_set(os.path.join(root, "helen_afw", "helen_test")),
            "cfp_401_450": read_cfp(os.path.join(root, "cfp"), people=[401, 450])}
    return {name: photo_arrays(records, SIZE, workers=2, progress=False)
            for name, records in sets.items()}


def measure(params: np.ndarray, arrays, fitter: LandmarkFitter, contour: bool):
    """Per-photo NME (fraction) and ``[N, 3]`` absolute angle differences
    (degrees) from the landmark fit's."""
    layout = fitter.layout
    nme, angles = [], []
    for i, p in enumerate(params.astype(np.float64)):
        mask = arrays["landmark_mask"][i] > 0
        ids = fitter.jaw_vertices(p) if contour else fitter.model.landmark_indices
        projected = fitter.project(p, ids)
        truth = arrays["landmarks"][i]
        seen = truth[mask]
        box = np.sqrt(np.prod(seen.max(0) - seen.min(0)))
        nme.append(np.mean(np.linalg.norm(projected[mask] - seen, axis=1)) / box)
        difference = layout.split_numpy(p)["rotation"] - \
            layout.split_numpy(arrays["params"][i].astype(np.float64))["rotation"]
        angles.append(np.abs(np.degrees((difference + np.pi) % (2 * np.pi) - np.pi)))
    return np.array(nme), np.array(angles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=["synthetic"])
    parser.add_argument("--photos", default=SHARED, help="the folder of cfp/ and helen_afw/")
    args = parser.parse_args()
    model = load_model(None)
    fitter = LandmarkFitter(model, PinholeCamera.for_model(model, (SIZE, SIZE)))
    sets = held_out_sets(args.photos)
    yaw = ROTATION_ORDER.index("yaw")
    for name in args.encoders:
        encoder = load_encoder(encoder_file(name, None))
        result = {"benchmark": "photo_dev", "encoder": name}
        for set_name, arrays in sets.items():
            params = encoder.predict(arrays["image"].astype(np.float32))
            nme, angles = measure(params, arrays, fitter, contour=True)
            result[f"{set_name}_nme_percent"] = round(100 * float(nme.mean()), 2)
            result[f"{set_name}_pose_vs_fit_degrees"] = round(float(angles.mean()), 2)
            result[f"{set_name}_yaw_vs_fit_degrees"] = round(float(angles[:, yaw].mean()), 2)
            if set_name.startswith("cfp"):
                profile = np.char.find(arrays["path"].astype(str), "/profile/") >= 0
                for view, chosen in (("profile", profile), ("frontal", ~profile)):
                    result[f"cfp_{view}_nme_percent"] = round(100 * float(nme[chosen].mean()), 2)
                    result[f"cfp_{view}_yaw_vs_fit_degrees"] = round(
                        float(angles[chosen, yaw].mean()), 2)
            result[f"{set_name}_photos"] = int(len(nme))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
