"""Head pose and 68-point landmarks on real photos: AFLW2000-3D.

Reads ``../shared/eval/aflw2000_3d`` in place (research evaluation only; see
its README). Per image: 3DDFA's crop box as the face box (so the detector is
not what is measured), landmarks inside it from ``--landmarks``
(``mediapipe``, the default, or ``dlib``: tfface's landmarkers; ``pts`` /
``reannotated``: the dataset's own points, to measure the fit alone), then
the stages of ``tfface reconstruct``:

* ``encoder``: align + the shipped encoder;
* ``landmark fit``: + :class:`tfface.fitting.LandmarkFitter` (jaw ``fixed``,
  the model's own jaw vertices, for MediaPipe's face oval; ``outline`` for
  the dataset's points, which carry a frontal face's outline on the head;
  ``contour`` for dlib's visible outline;
  the landmarker's per-point confidence, as ``tfface reconstruct`` uses it,
  unless ``--uniform-confidence``);
* ``photometric``: + ``--fit N`` steps through the renderer (optional).

Peer (``--eos``, needs the ``peers`` extra, ``eos-py``): eos's
``fit_shape_and_pose`` with the Surrey model and its contour files from
``../shared/models/sfm``, on the same landmarks in the same run.

Reports per stage: head-pose MAE (yaw / pitch / roll / mean, degrees) on the
images head-pose papers keep (all but the 31 with an angle beyond 99 deg),
in the dataset's angle convention (:mod:`tfface.evaluation`); 68-point NME
(3DDFA protocol) against the human re-annotated points per |yaw| bin and
their mean, and the mean against the original points (the fitted model's
projected landmarks: what 3DDFA's benchmark code compares with by default,
``calc_nme(..., option='ori')``, so what the published NMEs mean); ms per
face. Then pose MAE and NME on the faces the landmarker reports usable
(those its ``face_in_box`` does not flag: what ``tfface reconstruct``
reconstructs without ``--keep-unconfirmed``; MediaPipe leaves most full
profiles unconfirmed), a subset our landmarker picks, so not comparable with
published figures, and the landmark fit's pose errors on the profiles
(|yaw| > 60 deg) it reports usable and on those it flags (mean and median
per angle: what ``--keep-unconfirmed`` gives). A table, then one JSON line.

    python benchmarks/aflw2000.py [--subset subset_150.txt] [--limit N] [--landmarks dlib]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tfface.evaluation import (YAW_BINS, aflw2000, aflw_angles, aflw_pose,  # noqa: E402
                               landmark_box, nme_3ddfa, yaw_bin_means)
from tfface.faces import read_image  # noqa: E402
from tfface.landmark_sources import JAW_MODES, LANDMARKERS  # noqa: E402
from tfface.inference.reconstruct import FaceReconstructor  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "eval",
                    "aflw2000_3d")
ANGLES = ("yaw", "pitch", "roll")


class EosPeer:
    """eos's contour-aware landmark fit with the Surrey model (eos-py)."""

    def __init__(self, folder: str) -> None:
        import eos
        self.eos = eos
        model = eos.morphablemodel.load_model(os.path.join(folder, "sfm_shape_3448.bin"))
        blendshapes = eos.morphablemodel.load_blendshapes(
            os.path.join(folder, "expression_blendshapes_3448.bin"))
        self.model = eos.morphablemodel.MorphableModel(
            model.get_shape_model(), blendshapes, color_model=eos.morphablemodel.PcaModel(),
            vertex_definitions=None, texture_coordinates=model.get_texture_coordinates())
        mapping = os.path.join(folder, "ibug_to_sfm.txt")
        self.mapper = eos.core.LandmarkMapper(mapping)
        self.edges = eos.morphablemodel.load_edge_topology(
            os.path.join(folder, "sfm_3448_edge_topology.json"))
        self.contour_landmarks = eos.fitting.ContourLandmarks.load(mapping)
        self.contour = eos.fitting.ModelContour.load(os.path.join(folder, "sfm_model_contours.json"))
        with np.load(os.path.join(folder, "sfm_3448.npz")) as arrays:
            self.landmark_vertices = arrays["landmark_indices"]

    def __call__(self, points: np.ndarray, width: int, height: int):
        """Pose (dataset convention, degrees) and projected landmarks ``[68, 2]``."""
        landmarks = [self.eos.core.Landmark(str(i + 1), [float(x), float(y)])
                     for i, (x, y) in enumerate(points)]
        mesh, pose, _, _ = self.eos.fitting.fit_shape_and_pose(
            self.model, landmarks, self.mapper, width, height, self.edges,
            self.contour_landmarks, self.contour)
        rotation = np.asarray(pose.get_modelview())[:3, :3]
        rotation = rotation / np.linalg.norm(rotation[0])
        camera = np.asarray(self.eos.fitting.get_3x4_affine_camera_matrix(pose, width, height))
        vertices = np.asarray(mesh.vertices)[self.landmark_vertices]
        projected = np.c_[vertices, np.ones(len(vertices))] @ camera.T
        return aflw_angles(rotation), projected[:, :2]


def run(args) -> dict:
    detected = args.landmarks in LANDMARKERS
    reconstructor = FaceReconstructor(args.encoder, args.morphable_model,
                                      args.landmarks if detected else "mediapipe")
    fitter = reconstructor.landmark_fitter
    landmarker = reconstructor.landmarker if detected else None
    jaw = args.jaw or (reconstructor.detector_jaw if detected else "outline")
    stages = ["input landmarks", "encoder", "landmark fit"] + (["photometric"] if args.fit else [])
    peer = EosPeer(args.sfm) if args.eos else None
    if peer is not None:
        stages.append("eos (peer)")
    rows = {s: {"nme": [], "nme_original": [], "pose": [], "ms": []} for s in stages}
    bins, valid, usable = [], [], []
    images = list(aflw2000(args.data, args.subset, args.limit))

    def record_landmarks(stage: str, landmarks: np.ndarray, item: dict) -> None:
        rows[stage]["nme"].append(nme_3ddfa(landmarks, item["reannotated"]))
        rows[stage]["nme_original"].append(nme_3ddfa(landmarks, item["pts"]))

    for item in tqdm(images, unit="photo", disable=not args.progress):
        photo = read_image(item["path"])
        start = time.perf_counter()
        if landmarker is not None:
            found = landmarker.face_in_box(photo, landmark_box(item["box"]))
            points, blendshapes = found.landmarks, found.blendshapes
            confidence = found.confidence if args.confidence else None
            depth = found.depth
            usable.append(found.problem is None)
        else:
            points = item["reannotated" if args.landmarks == "reannotated" else "pts"]
            blendshapes = confidence = depth = None
            usable.append(True)
        rows["input landmarks"]["ms"].append(1e3 * (time.perf_counter() - start))
        record_landmarks("input landmarks", points, item)
        start = time.perf_counter()
        face = reconstructor.reconstruct(photo, [points], landmark_fit=False)[0]
        faces = {"encoder": face}
        rows["encoder"]["ms"].append(1e3 * (time.perf_counter() - start))
        start = time.perf_counter()
        fit = fitter.fit(face.aligned.landmarks, face.params, jaw=jaw, confidence=confidence,
                         blendshapes=blendshapes,
                         depth=None if depth is None else depth * face.aligned.scale)
        rows["landmark fit"]["ms"].append(1e3 * (time.perf_counter() - start))
        faces["landmark fit"] = reconstructor.describe(fit.params, face.aligned, points,
                                                       landmark_vertices=fit.vertex_ids)
        if args.fit:
            start = time.perf_counter()
            result = reconstructor.photometric_fitter.fit(  # compiled once, reused
                face.aligned.crop[None].astype(np.float32), face.aligned.landmarks[None],
                init=fit.params[None], steps=args.fit, landmark_vertices=fit.vertex_ids[None],
                held=fitter.kept_entries(blendshapes, fit.rotation_held)[None])
            rows["photometric"]["ms"].append(1e3 * (time.perf_counter() - start))
            faces["photometric"] = reconstructor.describe(result.params[0], face.aligned, points,
                                                          landmark_vertices=fit.vertex_ids)
        for stage, found in faces.items():
            record_landmarks(stage, found.landmarks2d, item)
            pose = aflw_pose(found.pose)
            rows[stage]["pose"].append([abs(pose[a] - item["pose"][a]) for a in ANGLES])
        if peer is not None:
            start = time.perf_counter()
            pose, projected = peer(points, photo.shape[1], photo.shape[0])
            rows["eos (peer)"]["ms"].append(1e3 * (time.perf_counter() - start))
            record_landmarks("eos (peer)", projected, item)
            rows["eos (peer)"]["pose"].append([abs(pose[a] - item["pose"][a]) for a in ANGLES])
        bins.append(item["yaw_bin"])
        valid.append(item["pose_valid"])
    bins, valid, usable = np.array(bins), np.array(valid), np.array(usable)
    report = {"images": len(images), "pose_images": int(valid.sum()),
              "usable_images": int(usable.sum()), "usable_pose_images": int((usable & valid).sum()),
              "usable_per_bin": {b: int(usable[bins == i].sum()) for i, b in enumerate(YAW_BINS)},
              "landmarks": args.landmarks, "jaw": jaw,
              "point_confidence": "landmarker's" if detected and args.confidence else "uniform",
              "stages": {}}
    for stage, row in rows.items():
        entry = {"nme_pct": {k: 100 * v for k, v in yaw_bin_means(np.array(row["nme"]),
                                                                    bins).items()},
                 "nme_original_pct": 100 * yaw_bin_means(np.array(row["nme_original"]),
                                                         bins)["mean"],
                 "ms_per_face": float(np.mean(row["ms"]))}
        if row["pose"]:
            pose = np.array(row["pose"])
            errors = pose[valid]
            mae = errors.mean(0)
            entry["pose_mae_deg"] = {**dict(zip(ANGLES, mae.tolist())), "mean": float(mae.mean())}
            # per |yaw| bin, the mean over the three angles (what each bin adds to the mean)
            entry["pose_mae_deg_per_bin"] = yaw_bin_means(errors.mean(1), bins[valid])
            # the faces the landmarker reports usable: what tfface reconstruct reconstructs
            entry["usable_pose_mae_deg"] = float(pose[valid & usable].mean())
            # profiles usable / flagged (what --keep-unconfirmed reconstructs anyway)
            profiles = valid & (bins == len(YAW_BINS) - 1)
            entry["profile_pose_deg"] = {"usable": axis_statistics(pose[profiles & usable]),
                                         "flagged": axis_statistics(pose[profiles & ~usable])}
        entry["usable_nme_pct"] = 100 * yaw_bin_means(np.array(row["nme"])[usable],
                                                      bins[usable])["mean"]
        report["stages"][stage] = entry
    return report


def axis_statistics(errors: np.ndarray) -> dict:
    """The count, mean and median per angle of pose errors ``[N, 3]`` (degrees)."""
    return {"faces": len(errors),
            "mean": dict(zip(ANGLES, errors.mean(0).tolist())) if len(errors) else None,
            "median": dict(zip(ANGLES, np.median(errors, 0).tolist())) if len(errors) else None}


def print_table(report: dict) -> None:
    print(f"AFLW2000-3D: {report['images']} images ({report['pose_images']} for pose), "
          f"landmarks: {report['landmarks']}, jaw: {report['jaw']}, "
          f"point confidence: {report['point_confidence']}")
    header = (f"{'stage':16s} " + " ".join(f"{b:>8s}" for b in YAW_BINS)
              + f" {'NME%':>6s} {'orig.':>6s}  "
              + " ".join(f"{a:>5s}" for a in ("yaw", "pitch", "roll", "MAE")) + f" {'ms':>7s}")
    print(header)
    for stage, entry in report["stages"].items():
        nme = entry["nme_pct"]
        pose = entry.get("pose_mae_deg")
        pose_text = " ".join(f"{pose[a]:5.2f}" for a in ANGLES + ("mean",)) if pose else \
            " " * 23 + "-"
        print(f"{stage:16s} " + " ".join(f"{nme[b]:8.2f}" for b in YAW_BINS)
              + f" {nme['mean']:6.2f} {entry['nme_original_pct']:6.2f}  {pose_text}"
              + f" {entry['ms_per_face']:7.1f}")
    print("NME%: against the re-annotated points; orig.: against the original (fitted) points")
    print("pose MAE per |yaw| bin (mean of yaw, pitch, roll): " + "; ".join(
        f"{stage} " + " / ".join(f"{entry['pose_mae_deg_per_bin'][b]:.2f}" for b in YAW_BINS)
        for stage, entry in report["stages"].items() if "pose_mae_deg_per_bin" in entry))
    if report["usable_images"] < report["images"]:
        print(f"faces the landmarker reports usable (what tfface reconstruct reconstructs; it "
              f"flags the others, e.g. face_unconfirmed): {report['usable_images']} of "
              f"{report['images']} (per |yaw| bin "
              + " / ".join(str(n) for n in report["usable_per_bin"].values())
              + f"; {report['usable_pose_images']} for pose); on them: " + "; ".join(
                  f"{stage} " + (f"pose MAE {entry['usable_pose_mae_deg']:.2f}, "
                                 if "usable_pose_mae_deg" in entry else "")
                  + f"NME {entry['usable_nme_pct']:.2f} %"
                  for stage, entry in report["stages"].items()))
        profiles = report["stages"]["landmark fit"]["profile_pose_deg"]
        print("profiles (|yaw| > 60) by the landmark fit, yaw / pitch / roll: " + "; ".join(
            f"{label} {group['faces']}" + "".join(
                f", {kind} " + " / ".join(f"{group[kind][a]:.1f}" for a in ANGLES)
                for kind in ("mean", "median") if group[kind])
            for label, group in (("usable", profiles["usable"]),
                                 ("flagged (kept by --keep-unconfirmed)", profiles["flagged"]))))
    print("published (full set): pose MAE 6DRepNet 3.97, FSA-Net 5.07, HopeNet 6.16; "
          "NME (original points) 3DDFA-V2 3.51, PRNet 3.62, 3DDFA 5.42")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="the aflw2000_3d folder")
    parser.add_argument("--subset", help="file of image names, e.g. subset_150.txt")
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--landmarks", choices=LANDMARKERS + ("pts", "reannotated"),
                        default="mediapipe",
                        help="input landmarks: a tfface landmarker in the crop box, or the "
                             "dataset's own points")
    parser.add_argument("--jaw", choices=JAW_MODES,
                        help="landmark-fit jaw mode (default: contour for dlib's visible "
                             "outline, fixed for MediaPipe's face oval, outline for the "
                             "dataset's points)")
    parser.add_argument("--uniform-confidence", dest="confidence", action="store_false",
                        help="landmark fit: trust every point alike (default: the "
                             "landmarker's per-point confidence, as tfface reconstruct)")
    parser.add_argument("--fit", type=int, default=0, metavar="N", help="photometric steps")
    parser.add_argument("--encoder", help="encoder (default: the shipped one)")
    parser.add_argument("--morphable-model", help="morphable model (default: ict)")
    parser.add_argument("--eos", action="store_true",
                        help="peer column: eos-py's fit_shape_and_pose with the Surrey model")
    parser.add_argument("--sfm", default=os.path.join(os.path.dirname(DATA), "..", "models", "sfm"),
                        help="the Surrey model folder (eos files)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.data, "gt.json")):
        print(f"skipped: {args.data} not present (../shared/eval is only in the development "
              "checkout)")
        return 0
    report = run(args)
    print_table(report)
    print(json.dumps({"benchmark": "aflw2000", **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
