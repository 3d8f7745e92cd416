"""``tfface prepare``: a folder of photos -> TFRecord shards of aligned faces + manifest.

Photos are taken in sorted order, ``shard_size`` per shard. Each shard is
written with a JSON sidecar (its photos, settings, used faces and skip
reasons) only when complete, so re-running skips finished shards made with
the same settings and nothing is ever half-written. ``manifest.json`` sums up the sidecars.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
from typing import Any, Dict, List, Optional, Sequence

from tqdm import tqdm

from tfface.config import DEFAULT_MODEL_NAME
from tfface.errors import TfFaceError
from tfface.io_utils import claim_output_folder, folder_lock, write_json_atomic
from tfface.landmark_sources import DEFAULT_JAW, JAW_MODES

SIDE_FILES = (".pts", ".json", ".txt", ".md")


def list_photos(folder: str) -> List[str]:
    """Every regular, non-hidden file in ``folder`` except annotation files."""
    if not os.path.isdir(folder):
        raise TfFaceError(f"{folder}: no such folder; give the folder of photos with --images")
    names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    return [os.path.join(folder, n) for n in names
            if os.path.isfile(os.path.join(folder, n)) and not n.lower().endswith(SIDE_FILES)]


def annotation_path(photo: str, landmarks_dir: Optional[str]) -> str:
    stem = os.path.splitext(os.path.basename(photo))[0] + ".pts"
    return os.path.join(landmarks_dir or os.path.dirname(photo), stem)


def photo_faces(photo: str, landmarks_dir: Optional[str], landmarker_factory
                ) -> Dict[str, Any]:
    """Read one photo and find its faces: ``{"image", "faces": [[68, 2]],
    "rejected": [reason], "source": "pts"|"detector"}``, or
    ``{"reason", "detail"}`` when it cannot be used."""
    from tfface.data.folder import read_photo_pts
    from tfface.faces.image_io import ImageReadError, read_image
    try:
        image = read_image(photo)
    except ImageReadError as error:
        return {"reason": error.reason, "detail": str(error)}
    pts = annotation_path(photo, landmarks_dir)
    if os.path.isfile(pts):
        try:
            return {"image": image, "faces": [read_photo_pts(pts, image)], "rejected": [],
                    "source": "pts"}
        except TfFaceError as error:
            return {"reason": "bad_annotation", "detail": str(error)}
    detected = landmarker_factory()(image)
    return {"image": image, "faces": [f.landmarks for f in detected if f.problem is None],
            "rejected": [f.problem for f in detected if f.problem is not None],
            "source": "detector"}


@functools.lru_cache(maxsize=None)
def _landmarker(name: str = "mediapipe", threads: Optional[int] = None):
    """This worker's landmarker called ``name`` on ``threads`` CPU threads
    (made once per process)."""
    from tfface.faces.landmarks import make_landmarker
    return make_landmarker(name, threads)


@functools.lru_cache(maxsize=None)
def _fitter(morphable_model: Optional[str], size: int):
    """This worker's landmark fitter of ``morphable_model`` for ``size`` crops
    (made once per process)."""
    from tfface.fitting.landmarks import LandmarkFitter
    from tfface.morphable import load_model
    from tfface.pinhole import PinholeCamera
    model = load_model(morphable_model)
    return LandmarkFitter(model, PinholeCamera.for_model(model, (size, size)))


def _prepare_shard(job: Dict[str, Any]) -> Dict[str, Any]:
    """Worker: align every face of the job's photos and write one shard."""
    from tfface.data.records import make_example, write_shard
    from tfface.faces.align import align_face
    settings = job["settings"]
    examples: List[bytes] = []
    entries = []
    for photo in job["photos"]:
        found = photo_faces(photo, settings["landmarks_dir"],
                            functools.partial(_landmarker, settings["landmarker"],
                                              settings["threads"]))
        if "reason" not in found and not found["faces"]:
            reason = found["rejected"][0] if found["rejected"] else "no_face"
            found = {"reason": reason, "detail": f"{photo}: no usable face ({reason})"}
        if "reason" in found:
            entries.append({"file": photo, "status": "skipped", **found})
            continue
        source = "pts" if found["source"] == "pts" else settings["landmarker"]
        jaw = settings["jaw"] or DEFAULT_JAW[source]
        for landmarks in found["faces"]:
            aligned = align_face(found["image"], landmarks, settings["size"], job["template"])
            vertices = _fitter(settings["morphable_model"], settings["size"]).annotation_vertices(
                aligned.landmarks, jaw)
            examples.append(make_example(aligned.crop, aligned.landmarks, photo,
                                         aligned.transform, vertices))
        entries.append({"file": photo, "status": "used", "faces": len(found["faces"]),
                        "landmarks": found["source"], "jaw": jaw,
                        "rejected_faces": found["rejected"]})
    write_shard(job["shard"], examples)
    sidecar = {"shard": os.path.basename(job["shard"]), "photos": job["photos"],
               "settings": settings, "examples": len(examples), "entries": entries}
    write_json_atomic(job["shard"] + ".json", sidecar)
    return sidecar


def _finished(job: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The sidecar of an already written shard for the same photos and
    settings (crop size, landmarks, jaw mode, model), if any: a re-run with
    other settings writes the shard again."""
    try:
        with open(job["shard"] + ".json", encoding="utf-8") as handle:
            sidecar = json.load(handle)
    except (OSError, ValueError):
        return None
    if (sidecar.get("photos") == job["photos"] and sidecar.get("settings") == job["settings"]
            and os.path.isfile(job["shard"])):
        return sidecar
    return None


def prepare(images: str, out: str, size: int = 224, landmarks_dir: Optional[str] = None,
            shard_size: int = 64, workers: int = 1, morphable_model: Optional[str] = None,
            progress: bool = True, overwrite: bool = False,
            landmarker: str = "mediapipe", jaw: Optional[str] = None) -> Dict[str, Any]:
    """Write aligned ``size`` crops of every face in ``images`` as shards in ``out``.

    ``landmarks_dir``: where ``<photo stem>.pts`` files live (default: beside
    the photos); photos without one go through the face detector. ``jaw``:
    what the jaw points mark (:data:`tfface.landmark_sources.JAW_MODES`;
    default per source, :data:`tfface.landmark_sources.DEFAULT_JAW`): each
    face's examples record the model vertices its landmarks mark
    (:meth:`tfface.fitting.LandmarkFitter.annotation_vertices`), which
    training compares them with. Returns the
    manifest (also written to ``out/manifest.json``). ``out`` must be empty,
    new or a previous ``prepare`` output (resumed) unless ``overwrite``.
    """
    from tfface.data.records import shard_path
    from tfface.faces.align import mean_face_template
    from tfface.faces.mediapipe import cpu_threads
    from tfface.morphable import load_model
    photos = list_photos(images)
    if not photos:
        raise TfFaceError(f"{images}: no files to prepare")
    if jaw is not None and jaw not in JAW_MODES:
        raise TfFaceError(f"--jaw {jaw}: unknown; use one of {', '.join(JAW_MODES)}")
    if landmarks_dir is not None and not os.path.isdir(landmarks_dir):
        raise TfFaceError(f"{landmarks_dir}: no such folder for --landmarks")
    claim_output_folder(out, "prepare", overwrite)
    with folder_lock(out, "prepare"):  # two runs never interleave shards
        # crops placed as the renderer of the model to train places its mean face
        template = mean_face_template(load_model(morphable_model))
        settings = {"size": size, "landmarks_dir": landmarks_dir, "landmarker": landmarker,
                    "jaw": jaw, "morphable_model": morphable_model,
                    # the cores shared among the worker processes
                    "threads": max(1, cpu_threads() // workers) if workers > 1 else None}
        jobs = [{"photos": photos[i:i + shard_size], "shard": shard_path(out, i // shard_size),
                 "settings": settings, "template": template}
                for i in range(0, len(photos), shard_size)]
        sidecars = {job["shard"]: _finished(job) for job in jobs}
        todo = [job for job in jobs if sidecars[job["shard"]] is None]
        bar = tqdm(total=len(photos), initial=len(photos) - sum(len(j["photos"]) for j in todo),
                   unit="photo", disable=not progress)
        if workers > 1 and len(todo) > 1:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for sidecar in pool.imap_unordered(_prepare_shard, todo):
                    sidecars[os.path.join(out, sidecar["shard"])] = sidecar
                    bar.update(len(sidecar["photos"]))
        else:
            for job in todo:
                sidecars[job["shard"]] = _prepare_shard(job)
                bar.update(len(job["photos"]))
        bar.close()
        return write_manifest(out, images, size, [sidecars[job["shard"]] for job in jobs],
                              morphable_model or DEFAULT_MODEL_NAME)


def write_manifest(out: str, images: str, size: int, sidecars: Sequence[Dict[str, Any]],
                   morphable_model: str) -> Dict[str, Any]:
    entries = [e for s in sidecars for e in s["entries"]]
    skipped = [e for e in entries if e["status"] == "skipped"]
    manifest = {"images": images, "size": size, "morphable_model": morphable_model,
                "photos": len(entries),
                "used": len(entries) - len(skipped), "skipped": len(skipped),
                "examples": sum(s["examples"] for s in sidecars),
                "shards": [s["shard"] for s in sidecars], "skips": skipped,
                "used_files": [e for e in entries if e["status"] == "used"]}
    path = os.path.join(out, "manifest.json")
    write_json_atomic(path, manifest)
    return manifest
