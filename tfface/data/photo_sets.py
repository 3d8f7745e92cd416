"""Real photo sets as they are published, read into aligned training crops.

Three formats (``data.photos`` of a training config):

* ``cfp``: Celebrities in Frontal-Profile, ``images/NNN/{frontal,profile}/KK.jpg``
  and ``fiducials.json`` with 30 hand-placed points per photo on the half of
  the face that is seen (:data:`CFP_TO_IBUG`); one person per ``NNN``.
* ``pts``: photos with iBUG ``.pts`` files beside them (HELEN, AFW, 300-W).
* ``unannotated``: photos without points (UTKFace, LFW); the landmarker's
  68 points where it confirms the face. LFW's ``<Name>/<Name>_NNNN.jpg``
  folders give person ids.

Every photo becomes a :class:`PhotoRecord`: its points as iBUG's 68 with
NaN where not annotated. :func:`photo_arrays` aligns each as ``tfface
reconstruct`` aligns a photo (from 68 points; for a partial set, from the
68 points of a landmark fit to it) and fits the morphable model to its
points: the fit's params are the distillation target where it confirms
the points (:data:`CONFIRMED_RESIDUAL`).
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import json
import multiprocessing
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from tfface.errors import TfFaceError
from tfface.faces.mesh_map import IBUG_MIRROR
from tfface.morphable.model import NUM_LANDMARKS

CFP_TO_IBUG = (0, 1, 2, 3, 4, 5, 6, 7, 8,      # jaw, ear level to chin
               17, 19, 21,                     # brow: outer end, middle, inner end
               36, 37, 38, 39, 40, 41,         # eye, outer corner round
               27, 28, 29, 30,                 # nose bridge to tip
               33, None, 32,                   # below the tip, nostril, wing
               48, 51, 62, 57, 66)             # mouth corner, lip centres
"""iBUG point of each of CFP's 30 fiducials, when the points lie on the
image's left half of the face (iBUG 0-8 side); the other side's go through
:data:`tfface.faces.mesh_map.IBUG_MIRROR`. Derived on CFP frontal photos
against MediaPipe's 68 points (``benchmarks/cfp_fiducials.py``: each
fiducial's nearest point, median distance 0.03-0.10 of the eye distance).
Fiducial 23 lies between iBUG 32 and 33 (median 0.09 from either) and has no
counterpart. The mouth corner (fiducial 25) is the outer lip's corner, iBUG
48, though MediaPipe's inner corner (60) lies a little nearer: the two
coincide on a closed mouth."""
CFP_ORIGIN = 1.0
"""Coordinate of the top-left pixel centre in ``fiducials.json`` (measured
against MediaPipe's points as iBUG 1-based files are, on the same photos)."""
CONFIRMED_RESIDUAL = 0.03
"""A landmark fit confirms a photo's points when their mean distance to the
fitted model's is below this fraction of the crop size (about 3 px at 112
px): then its params are a distillation target."""
START_YAWS = (0.0, -40.0, 40.0, -75.0, 75.0)
"""Head yaws (degrees) a partial point set's landmark fit starts from, the
best kept: from a frontal start the fit of a profile's half face stops at
a local minimum tens of degrees short of its yaw."""
DEFAULT_JAW = {"cfp": "contour", "pts": "contour", "unannotated": "fixed"}
"""What each format's jaw points mark (:data:`tfface.landmark_sources.JAW_MODES`):
hand-placed outlines of the seen jaw, or MediaPipe's face oval."""


@dataclasses.dataclass
class PhotoRecord:
    """One photo: ``path``, ``points`` ``[68, 2]`` photo pixels, 0-based, NaN
    where not annotated (None: none, the landmarker finds them), ``person``
    (-1: unknown) and ``jaw``, what the jaw points mark."""

    path: str
    points: Optional[np.ndarray]
    person: int
    jaw: str

    @property
    def mask(self) -> np.ndarray:
        """``[68]`` float32: 1 where a point is annotated."""
        return np.all(np.isfinite(self.points), 1).astype(np.float32)


def cfp_points(fiducials: Sequence[Sequence[float]]) -> np.ndarray:
    """CFP's 30 fiducials (1-based pixels) -> ``[68, 2]`` iBUG points,
    0-based, NaN where CFP has none. The side of the face is read from the
    points: the jaw's ear end (fiducial 0) left of the nose tip (fiducial
    21) in the image is the iBUG 0-8 side; else the mirrored points."""
    raw = np.asarray(fiducials, np.float64)
    if raw.shape != (len(CFP_TO_IBUG), 2) or not np.all(np.isfinite(raw)):
        raise ValueError(f"CFP fiducials: shape {raw.shape} (finite), expected [30, 2]")
    left_side = raw[0, 0] < raw[21, 0]
    points = np.full((NUM_LANDMARKS, 2), np.nan)
    for fiducial, ibug in enumerate(CFP_TO_IBUG):
        if ibug is not None:
            points[ibug if left_side else IBUG_MIRROR[ibug]] = raw[fiducial] - CFP_ORIGIN
    return points


def read_cfp(folder: str, people: Optional[Sequence[int]] = None,
             first_person: int = 0) -> List[PhotoRecord]:
    """CFP's photos (``people``: ``[first, last]`` person numbers, both
    included; None: all) with their fiducials. Person ids start at
    ``first_person``."""
    path = os.path.join(folder, "fiducials.json")
    try:
        with open(path, encoding="utf-8") as handle:
            points = json.load(handle)["points"]
    except (OSError, ValueError, KeyError) as error:
        raise TfFaceError(f"{path}: cannot read CFP's fiducials ({type(error).__name__}); give "
                          "the CFP folder holding fiducials.json and images/") from None
    records = []
    for key in sorted(points):
        number = int(key.split("/")[0])
        if people is not None and not people[0] <= number <= people[1]:
            continue
        records.append(PhotoRecord(os.path.join(folder, "images", key + ".jpg"),
                                   cfp_points(points[key]), first_person + number - 1,
                                   DEFAULT_JAW["cfp"]))
    return records


def read_pts_set(folder: str) -> List[PhotoRecord]:
    """Every photo under ``folder`` (recursively) with an iBUG ``.pts`` beside it."""
    from tfface.data.folder import IMAGE_EXTENSIONS, read_pts
    records = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        stem, ext = os.path.splitext(path)
        if ext.lower() in IMAGE_EXTENSIONS and os.path.isfile(stem + ".pts"):
            records.append(PhotoRecord(path, read_pts(stem + ".pts"), -1, DEFAULT_JAW["pts"]))
    return records


def read_unannotated(folder: str, first_person: int = 0) -> List[PhotoRecord]:
    """Every photo under ``folder``, without points; photos in a subfolder
    (LFW's ``<Name>/``) share that person's id, from ``first_person`` on;
    photos directly in ``folder`` have none."""
    from tfface.data.folder import IMAGE_EXTENSIONS
    records, people = [], {}
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if os.path.splitext(path)[1].lower() not in IMAGE_EXTENSIONS:
            continue
        parent = os.path.relpath(os.path.dirname(path), folder)
        person = -1 if parent == "." else people.setdefault(parent, first_person + len(people))
        records.append(PhotoRecord(path, None, person, DEFAULT_JAW["unannotated"]))
    return records


def read_photo_sets(sets: Sequence[Dict[str, Any]]) -> List[PhotoRecord]:
    """The records of a config's ``data.photos`` entries, person ids unique across sets."""
    records: List[PhotoRecord] = []
    for entry in sets:
        if not os.path.isdir(entry["path"]):
            raise TfFaceError(f"{entry['path']}: no such folder (data.photos, format "
                              f"{entry['format']}); set its path to where the set is unpacked")
        first = 1 + max((r.person for r in records), default=-1)
        if entry["format"] == "cfp":
            found = read_cfp(entry["path"], entry.get("people"), first)
        elif entry["format"] == "pts":
            found = read_pts_set(entry["path"])
        else:
            found = read_unannotated(entry["path"], first)
        if not found:
            raise TfFaceError(f"{entry['path']}: no photos of format {entry['format']}")
        records += found
    return records


def subset_transform(points: np.ndarray, size: int, template: np.ndarray) -> np.ndarray:
    """``[2, 3]`` scale + shift putting the annotated ones of ``points``
    ``[68, 2]`` (NaN: not annotated) onto theirs of ``template * size``:
    a first crop of a partial point set, for a landmark fit to complete it."""
    seen = np.all(np.isfinite(points), 1)
    source = points[seen]
    target = np.asarray(template, np.float64)[seen] * size - 0.5
    from tfface.faces.align import similarity_scale_angle
    scale, _ = similarity_scale_angle(source, target)
    shift = target.mean(0) - scale * source.mean(0)
    return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])


@functools.lru_cache(maxsize=None)
def _worker(size: int, morphable_model: Optional[str]):
    """This process's (template, landmark fitter, landmarker), made once."""
    from tfface.faces.align import mean_face_template
    from tfface.faces.landmarks import make_landmarker
    from tfface.fitting.landmarks import LandmarkFitter
    from tfface.morphable import load_model
    from tfface.pinhole import PinholeCamera
    model = load_model(morphable_model)
    camera = PinholeCamera.for_model(model, (size, size))
    return (mean_face_template(model, camera), LandmarkFitter(model, camera),
            functools.lru_cache(maxsize=1)(lambda: make_landmarker("mediapipe", 1)))


def prepare_photo(record: PhotoRecord, size: int,
                  morphable_model: Optional[str] = None) -> Optional[Dict[str, np.ndarray]]:
    """One photo's training example: ``image`` ``[S, S, 3]`` uint8,
    ``landmarks`` ``[68, 2]`` crop pixels (0 where masked),
    ``landmark_mask`` ``[68]``, ``landmark_vertices`` ``[68]`` (the vertices
    they mark), ``params`` ``[P]`` of the landmark fit, ``distill_weight``
    (1 where the fit confirms the points), ``person``, ``path``; None for a photo
    without a confirmed face (unannotated) or unreadable."""
    from tfface.faces.align import align_face, apply_transform
    from tfface.faces.image_io import ImageReadError, read_image
    template, fitter, landmarker = _worker(size, morphable_model)
    try:
        image = read_image(record.path)
    except ImageReadError:
        return None
    points = record.points
    if points is None:
        faces = [face for face in landmarker()(image) if face.problem is None]
        if len(faces) != 1:
            return None
        points = faces[0].landmarks
    mask = np.all(np.isfinite(points), 1).astype(np.float32)
    if mask.sum() < 6:
        return None
    full, yaws = points, (0.0,)
    if mask.min() == 0:  # complete the set from a fit in a first crop
        first = subset_transform(points, size, template)
        fit = best_fit(fitter, apply_transform(first, points), record.jaw, mask, START_YAWS)
        inverse = np.linalg.inv(np.vstack([first, [0, 0, 1]]))[:2]
        full = np.where(mask[:, None] > 0, points, apply_transform(inverse, fit.landmarks))
        yaws = (float(np.degrees(fitter.layout.split_numpy(fit.params)["rotation"][1])),)
    aligned = align_face(image, full, size, template)
    crop_points = apply_transform(aligned.transform, points)
    fit = best_fit(fitter, crop_points, record.jaw, mask, yaws)
    residual = np.linalg.norm(fit.landmarks - np.nan_to_num(crop_points), axis=1)
    confirmed = float(np.sum(residual * mask) / mask.sum()) < CONFIRMED_RESIDUAL * size
    return {"image": aligned.crop, "landmarks": np.nan_to_num(crop_points).astype(np.float32),
            "landmark_mask": mask, "landmark_vertices": fit.vertex_ids.astype(np.int64),
            "params": fit.params.astype(np.float32), "distill_weight": np.float32(confirmed),
            "person": np.int64(record.person), "path": np.str_(record.path)}


def best_fit(fitter, target: np.ndarray, jaw: str, mask: np.ndarray, yaws: Sequence[float]):
    """The :meth:`tfface.fitting.LandmarkFitter.fit` of ``target`` ``[68, 2]``
    (``mask`` ``[68]``) of least final loss among fits started from the mean
    face turned to each of ``yaws`` (degrees)."""
    best = None
    for yaw in yaws:
        init = fitter.layout.zeros(1)[0].astype(np.float64)
        init[fitter.layout.slices["rotation"].start + 1] = np.radians(yaw)
        fit = fitter.fit(target, init=init, jaw=jaw, mask=mask)
        if best is None or fit.loss_after < best.loss_after:
            best = fit
    return best


def _prepare_chunk(job) -> List[Optional[Dict[str, np.ndarray]]]:
    records, size, morphable_model = job
    return [prepare_photo(r, size, morphable_model) for r in records]


def photo_arrays(records: Sequence[PhotoRecord], size: int,
                 morphable_model: Optional[str] = None, workers: int = 1,
                 progress: bool = True) -> Dict[str, np.ndarray]:
    """:func:`prepare_photo` of every record, stacked (``image`` ``[N, S, S,
    3]`` uint8, ...); photos that give no example are left out."""
    from tqdm import tqdm
    chunks = [(records[i:i + 32], size, morphable_model) for i in range(0, len(records), 32)]
    examples: List[Dict[str, np.ndarray]] = []
    bar = tqdm(total=len(records), unit="photo", disable=not progress, desc="aligning photos")
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for done in pool.imap(_prepare_chunk, chunks):
                examples += [e for e in done if e is not None]
                bar.update(len(done))
    else:
        for chunk in chunks:
            done = _prepare_chunk(chunk)
            examples += [e for e in done if e is not None]
            bar.update(len(done))
    bar.close()
    if not examples:
        raise TfFaceError("data.photos: no photo gave a training example (no readable photo "
                          "with a confirmed face)")
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}
