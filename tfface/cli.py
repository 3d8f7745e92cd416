"""The tfface command line.

Exit codes: 0 success, 2 bad argument or input file (missing, unreadable,
no face found, unsupported video, unwritable output), 3 bad model file,
4 a folder run where some files failed (each is listed), 1 unexpected
internal error (with traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from tfface.errors import TfFaceError, one_line
from tfface.io_utils import (check_input_file, claim_output_file, claim_output_folder,
                             output_folder_for)
from tfface.morphable import load_model


def demo_params(layout, count: int, seed: int) -> np.ndarray:
    """Random faces for showing a model; the first is the mean face, frontal."""
    from tfface.data.synthetic import random_params
    params = random_params(layout, count, np.random.default_rng(seed))
    params[0] = 0.0
    params[0, layout.slices["illumination"]] = np.tile([0, 0.1, 0.15, 0.25, 0, 0, 0, 0, 0], 3)
    return params


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on faces with known answers: render synthetic photos of the
    demo model (+ their .pts landmarks), reconstruct them with the shipped
    encoder, write meshes, params and overlays, and compare with the truth."""
    from tfface.data.photoreal import eyes_and_mouth, random_backgrounds, skin_features
    from tfface.layers import Renderer
    from tfface.data.folder import write_pts
    from tfface.inference.outputs import write_reconstruction
    from tfface.overlay import grid, to_uint8, write_image
    from tfface.inference.reconstruct import FaceReconstructor

    reconstructor = FaceReconstructor(args.encoder, args.morphable_model)
    out = claim_output_folder(args.out, "demo", args.overwrite)
    renderer = Renderer.from_model(reconstructor.model, (args.size, args.size))
    params = demo_params(renderer.layout, args.count, args.seed)
    rng = np.random.default_rng(args.seed)
    backgrounds = random_backgrounds(args.count, (args.size, args.size), rng)
    rendered = renderer(params)
    rows = []
    for i, (image, mask, landmarks) in enumerate(zip(rendered["image"].numpy(),
                                                     rendered["mask"].numpy(),
                                                     rendered["landmarks2d"].numpy())):
        # eyes and a mouth behind the mesh's openings, brows and lips on its skin
        behind = eyes_and_mouth(backgrounds[i], landmarks, rng)
        skin = skin_features((args.size, args.size), landmarks, rng)
        photo = to_uint8(np.clip(image, 0, 1) * skin * mask + behind * (1 - mask))
        write_image(os.path.join(out, f"face{i}.png"), photo)
        write_pts(os.path.join(out, f"face{i}.pts"), landmarks)
        # the model's own landmark vertices, projected: the 3D jaw, not its outline
        faces = reconstructor.reconstruct(photo, [landmarks], fit_steps=args.fit, jaw="fixed")
        composed = write_reconstruction(out, f"face{i}", photo, faces, reconstructor, ("obj",))
        truth = np.degrees(renderer.layout.split_numpy(params[i])["rotation"])
        found = np.array([faces[0].pose[k] for k in ("pitch", "yaw", "roll")])
        print(f"face{i}: pose (pitch, yaw, roll) true {np.round(truth, 1)} recovered "
              f"{np.round(found, 1)} degrees; landmark residual {faces[0].quality:.3f}")
        rows.append(np.concatenate([photo, composed], 1))
    summary = os.path.join(out, "demo_faces.png")
    write_image(summary, grid(rows, columns=2))
    print(f"wrote {summary} (photo | reconstruction) and face*.obj/.json/_overlay.png in {out}; "
          f"try: tfface reconstruct {os.path.join(out, 'face1.png')} --jaw fixed")
    return 0


def cmd_convert_model(args: argparse.Namespace) -> int:
    """Convert a morphable model from its original format to tfface's npz."""
    from tfface.morphable import MorphableModel
    from tfface.morphable.convert import convert
    claim_output_file(args.out, MorphableModel.written_by_tfface, args.overwrite,
                      "a model file tfface wrote")
    model = convert(args.format, args.input, expressions=args.expressions,
                    landmarks=args.landmarks)
    model.save(args.out)
    print(f"wrote {args.out}: {model.num_vertices} vertices, {model.num_identity} identity, "
          f"{model.num_expression} expression, {model.num_albedo} albedo components")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export the encoder alone, verified against Keras before it is written."""
    from tfface.export.pipeline import default_samples, export_encoder
    from tfface.params import FaceParams
    if (args.encoder is None) == (args.checkpoint is None):
        raise TfFaceError("give exactly one of --encoder ENCODER.keras or --checkpoint RUN_DIR")
    if args.checkpoint is not None:
        from tfface.training import encoder_from_run
        encoder, autoencoder, model = encoder_from_run(args.checkpoint)
        layout, face_loss = autoencoder.renderer.layout, autoencoder.face_loss
    else:
        from tfface.runtime import KerasEncoder, load_encoder
        runtime = load_encoder(args.encoder)
        if not isinstance(runtime, KerasEncoder):
            raise TfFaceError(f"{args.encoder}: --encoder must be a .keras encoder")
        from tfface.face_loss import encoder_loss
        encoder, model = runtime.model, load_model(args.morphable_model)
        layout, face_loss = FaceParams.from_model(model), encoder_loss(args.encoder)
        if layout.size != encoder.output_shape[-1]:
            raise TfFaceError(f"{args.encoder}: outputs {encoder.output_shape[-1]} params but the "
                              f"morphable model needs {layout.size}; pass --morphable-model")
    samples = default_samples(encoder, args.samples, model=model)
    if args.format != "all":
        export_encoder(encoder, layout, model, args.format, args.out, samples, args.int8_io,
                       overwrite=args.overwrite, face_loss=face_loss)
        print(f"wrote {args.out} (+ {args.out}.json)")
        return 0
    from tfface.export import FORMATS
    claim_output_folder(args.out, "export", args.overwrite)
    for fmt in FORMATS:
        suffix = {"onnx": ".onnx", "savedmodel": ""}.get(fmt, ".tflite")
        path = os.path.join(args.out, f"encoder-{fmt}{suffix}")
        export_encoder(encoder, layout, model, fmt, path, samples, args.int8_io, overwrite=True,
                       face_loss=face_loss)
        print(f"wrote {path} (+ .json)")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Photos (with .pts, or detected) -> aligned TFRecord shards + manifest."""
    from tfface.faces.prepare import prepare
    manifest = prepare(args.images, args.out, size=args.size,
                       landmarks_dir=None if args.landmarks == "auto" else args.landmarks,
                       shard_size=args.shard_size, workers=args.workers,
                       overwrite=args.overwrite, landmarker=args.landmarker,
                       morphable_model=args.morphable_model, jaw=args.jaw,
                       progress=args.progress)
    print(f"{manifest['used']} of {manifest['photos']} photos used, {manifest['examples']} "
          f"faces in {len(manifest['shards'])} shards; {manifest['skipped']} skipped")
    for skip in manifest["skips"]:
        print(f"  skipped {one_line(skip['file'])}: {skip['reason']}")
    print(f"wrote {os.path.join(args.out, 'manifest.json')}")
    return 0


def _photo_landmarks(path: str, photo: np.ndarray, shared_stem: bool = False
                     ) -> Optional[List[np.ndarray]]:
    """The 68 landmarks of ``<photo>.pts`` when it exists (else None: detect).
    ``shared_stem``: another photo beside it has the same name but for its
    extension (``a.jpg``, ``a.png``); then only ``a.jpg.pts`` is its own, and
    an ``a.pts`` that either could mean is refused."""
    from tfface.data.folder import read_photo_pts
    stem = os.path.splitext(path)[0]
    if shared_stem:
        if os.path.isfile(path + ".pts"):
            return [read_photo_pts(path + ".pts", photo)]
        if os.path.isfile(stem + ".pts"):
            raise TfFaceError(f"{stem}.pts: belongs to more than one photo named "
                              f"{os.path.basename(stem)}.*; rename it "
                              f"{os.path.basename(path)}.pts for this one")
        return None
    pts = stem + ".pts"
    return [read_photo_pts(pts, photo)] if os.path.isfile(pts) else None


def output_stems(photos: List[str]) -> Dict[str, str]:
    """Each photo's output name: its name without the extension, or with it
    where two photos of a folder differ only there (``a.jpg``, ``a.png``)."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in photos]
    return {p: os.path.basename(p) if stems.count(stem) > 1 else stem
            for p, stem in zip(photos, stems)}


UNCONFIRMED_HINT = "--keep-unconfirmed reconstructs an unconfirmed face anyway (roughly)"


def _reasons(problems) -> str:
    """``problem: why; ...`` for the problem names of unused detections."""
    from tfface.faces.landmarks import PROBLEMS
    return "; ".join(f"{problem}: {PROBLEMS[problem]}" for problem in sorted(set(problems)))


def _detected_faces(reconstructor, photo, path: str, keep_unconfirmed: bool = False,
                    notes: Optional[List[str]] = None) -> Tuple[List, List[str]]:
    """Every usable face the landmarker finds in ``photo`` (its
    :class:`tfface.faces.landmarks.DetectedFace`) and where each one's
    landmarks came from; a face the mesh does not confirm
    (``face_unconfirmed``: mostly profiles) counts with ``keep_unconfirmed``.
    Detections not used beside usable ones: a line appended to ``notes``.
    None usable: a one-line error naming why, from the same detections."""
    detections = reconstructor.landmarker(photo)
    kept = [f.problem is None or (keep_unconfirmed and f.problem == "face_unconfirmed")
            for f in detections]
    usable = [f for f, keep in zip(detections, kept) if keep]
    unused = [f.problem for f, keep in zip(detections, kept) if not keep]
    hint = f"; {UNCONFIRMED_HINT}" if "face_unconfirmed" in unused else ""
    if usable:
        if unused and notes is not None:
            notes.append(f"{path}: {len(unused)} more detection(s) not used "
                         f"({_reasons(unused)}){hint}")
        name = reconstructor.landmarker_name
        return usable, [name if f.problem is None else f"{name}, unconfirmed" for f in usable]
    advice = (f"use a photo with a {reconstructor.findable_face}, or put 68 landmarks in a .pts "
              "file beside it")
    if not unused:
        raise TfFaceError(f"{path}: no face found; {advice}")
    raise TfFaceError(f"{path}: no usable face ({_reasons(unused)}); {advice}{hint}")


def _reconstruct_photo(reconstructor, path: str, out: str, formats, fit_steps: int,
                       jaw: Optional[str] = None, texture_size: int = 0,
                       keep_unconfirmed: bool = False,
                       notes: Optional[List[str]] = None, stem: Optional[str] = None) -> List:
    """Reconstruct the faces of the photo at ``path`` and write them into
    ``out`` as ``<stem>_face<i>.*`` (``stem``: from :func:`output_stems`;
    by default the photo's name without its extension)."""
    from tfface.faces import read_image
    from tfface.inference.outputs import write_reconstruction
    photo = read_image(path)
    default_stem = os.path.splitext(os.path.basename(path))[0]
    stem = stem or default_stem
    landmarks = _photo_landmarks(path, photo, shared_stem=stem != default_stem)
    if landmarks is None:
        found, sources = _detected_faces(reconstructor, photo, path, keep_unconfirmed, notes)
        faces = reconstructor.reconstruct_detected(photo, found, fit_steps=fit_steps, jaw=jaw)
    else:
        sources = [".pts file"]
        faces = reconstructor.reconstruct(photo, landmarks, fit_steps=fit_steps, jaw=jaw)
    for face, source in zip(faces, sources):
        face.landmark_source = source
    write_reconstruction(out, stem, photo, faces, reconstructor, formats, texture_size)
    return faces


def _mesh_formats(text: str) -> List[str]:
    from tfface.mesh_io import MESH_FORMATS
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(MESH_FORMATS))
    if unknown:
        raise TfFaceError(f"--format {','.join(unknown)}: unknown; use any of {MESH_FORMATS}")
    return formats


def _reconstructor(args: argparse.Namespace):
    """The FaceReconstructor of ``reconstruct`` / ``fit``; a model without a UV
    layout is refused before any photo when ``--texture`` asks for one."""
    from tfface.inference.reconstruct import FaceReconstructor
    reconstructor = FaceReconstructor(args.encoder, args.morphable_model, args.landmarker)
    if args.texture:
        from tfface.inference.texture import require_uv_layout
        require_uv_layout(reconstructor.model)
    return reconstructor


def cmd_reconstruct(args: argparse.Namespace) -> int:
    """Photo, folder of photos or video -> meshes, params.json, overlays."""
    formats = _mesh_formats(args.format)
    if not os.path.exists(args.input):
        raise TfFaceError(f"{args.input}: no such file or folder")
    photos = None
    if not os.path.isdir(args.input):
        check_input_file(args.input)
    else:
        from tfface.faces.prepare import list_photos
        photos = list_photos(args.input)
        if not photos:
            raise TfFaceError(f"{args.input}: no photos in this folder; give a photo, a folder "
                              "of photos or a video")
    reconstructor = _reconstructor(args)
    with output_folder_for(args.out, "reconstruct", args.overwrite) as out:
        return _reconstruct_input(reconstructor, args, out, formats, photos)


def _reconstruct_input(reconstructor, args: argparse.Namespace, out: str, formats,
                       photos: Optional[List[str]]) -> int:
    """``reconstruct`` of its video, photo or folder of photos (``photos``,
    listed) into ``out``."""
    from tfface.inference.video import VIDEO_EXTENSIONS, reconstruct_video
    if os.path.splitext(args.input)[1].lower() in VIDEO_EXTENSIONS:
        summary = reconstruct_video(reconstructor, args.input, out, smoothing=not args.no_smoothing,
                                    fit_steps=args.fit, tracking=not args.no_tracking,
                                    texture_size=args.texture, progress=args.progress)
        print(f"{summary['frames_with_face']} of {summary['frames']} frames with a face; wrote "
              f"{summary['video']} and {summary['params']}")
        return 0
    if os.path.isfile(args.input):
        return _reconstruct_one_photo(reconstructor, args, args.input, out, formats, args.fit)
    from tqdm import tqdm
    failures: List[str] = []
    notes: List[str] = []
    done = 0
    stems = output_stems(photos)
    notes.extend(f"{path}: written as {stem}_face*, as another photo has its name"
                 for path, stem in stems.items() if stem == os.path.basename(path))
    for path in tqdm(photos, unit="photo", disable=not args.progress):
        try:
            faces = _reconstruct_photo(reconstructor, path, out, formats, args.fit, args.jaw,
                                       args.texture, args.keep_unconfirmed, notes, stems[path])
            for i, face in enumerate(faces):
                _print_face(f"{os.path.basename(path)} face {i}", face, tqdm.write)
            done += len(faces) > 0
        except TfFaceError as error:
            failures.append(str(error))
    print(f"{done} of {len(photos)} photos reconstructed into {out}")
    for failure in failures:
        print(f"  skipped {one_line(failure)}")
    for note in notes:
        print(f"  note: {one_line(note)}")
    return 4 if failures else 0


QUALITY_VERDICTS = ((0.05, "good fit"), (0.1, "fair fit"), (float("inf"), "poor fit: check the "
                                                                      "overlay"))
"""Landmark residual (over the eye-corner distance) -> verdict, first bound that holds."""
PARTIAL_FACE_POINTS = 3
"""Landmarks at the photo's edge that make the verdict a partial face."""


def _print_face(label: str, face, write=print) -> None:
    """One line on ``face``: pose, landmark residual and verdict, where its
    landmarks came from and its own fit loss; through ``write`` (a progress
    bar's, in folder mode)."""
    pose = ", ".join(f"{k} {v:+.1f}" for k, v in face.pose.items())
    verdict = next(text for bound, text in QUALITY_VERDICTS if face.quality < bound)
    if face.points_at_edge >= PARTIAL_FACE_POINTS:
        verdict = (f"partial face: {face.points_at_edge} of 68 landmarks at the photo's edge; "
                   "the cut-off part is a guess")
    source = face.landmark_source
    line = (f"{label}: pose ({pose}) degrees, landmark residual {face.quality:.3f} ({verdict}"
            + (f"; landmarks from {source})" if source else ")"))
    if face.fit is not None:
        line += f", fit loss {face.fit['before']['loss']:.4f} -> {face.fit['after']['loss']:.4f}"
    write(one_line(line))


def cmd_fit(args: argparse.Namespace) -> int:
    """Per-photo analysis-by-synthesis from the encoder's output."""
    formats = _mesh_formats(args.format)
    check_input_file(args.photo)
    reconstructor = _reconstructor(args)
    with output_folder_for(args.out, "reconstruct", args.overwrite) as out:
        return _reconstruct_one_photo(reconstructor, args, args.photo, out, formats, args.steps)



def _reconstruct_one_photo(reconstructor, args: argparse.Namespace, path: str, out: str,
                           formats, fit_steps: int) -> int:
    """``reconstruct`` / ``fit`` of one photo: each face on a line, then the
    detections left out."""
    notes: List[str] = []
    for i, face in enumerate(_reconstruct_photo(reconstructor, path, out, formats, fit_steps,
                                                args.jaw, args.texture,
                                                args.keep_unconfirmed, notes)):
        _print_face(f"face {i}", face)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {out}")
    return 0


EXAMPLES = {
    "demo": """examples:
  tfface demo                                # six synthetic ICT faces -> tfface_demo/
  tfface demo --morphable-model demo --count 2    # the toy demo model""",
    "convert-model": """examples:
  tfface convert-model ict ICT-FaceKit/FaceXModel --out ict.npz
  tfface convert-model bfm-front BFM/BFM_model_front.mat --out bfm.npz""",
    "export": """examples:
  tfface export --encoder tfface/assets/synthetic_encoder.keras --format tflite-int8 --out enc.tflite
  tfface export --checkpoint runs/default --format all --out exported/""",
    "prepare": """examples:
  tfface prepare --images photos/ --out shards/           # .pts beside a photo, else MediaPipe
  tfface prepare --images photos/ --landmarks pts/ --out shards/ --workers 2""",
    "reconstruct": """Landmarks come from <photo>.pts beside the photo (iBUG 68 points) when it
exists, else from the landmarker. Every face is encoded, then fitted to its
landmarks; --fit N adds N photometric steps (colour, light, detail: slower,
helps when the overlay's colours are off). Red dots on the overlay are the
input landmarks, green ones the model's.

examples:
  tfface reconstruct photo.jpg                    # -> tfface_out/photo_face0.obj/.json, photo_overlay.png
  tfface reconstruct photos/ --format obj,glb     # a folder: progress bar, bad files listed
  tfface reconstruct clip.mp4                     # overlay video + per-frame params
  tfface reconstruct photo.jpg --fit 50 --out out/
  tfface reconstruct photo.jpg --format obj,glb --texture 1024   # textured meshes""",
    "fit": """examples:
  tfface fit photo.jpg --steps 100 --out out/""",
}


class _DeprecatedAlias(argparse.Action):
    """An old flag kept for one release: stores into the new flag's place and
    says on stderr which flag to use instead."""

    def __init__(self, option_strings, dest, renamed_to: str, **kwargs) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.renamed_to = renamed_to

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"tfface: {option_string} is deprecated and goes away in the next release; "
              f"use {self.renamed_to}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_renamed(parser: argparse.ArgumentParser, flag: str, old_flag: str, **kwargs) -> None:
    """Add ``flag`` and its former name ``old_flag`` as a hidden deprecated alias."""
    action = parser.add_argument(flag, **kwargs)
    parser.add_argument(old_flag, dest=action.dest, action=_DeprecatedAlias, renamed_to=flag,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)


MIN_IMAGE_SIZE = 32
"""Smallest photo / crop side the commands accept (pixels)."""


def int_at_least(minimum: int):
    """An argparse ``type``: a whole number of at least ``minimum`` (argparse
    answers any other value with a one-line usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least "
                                             f"{minimum}")
        return value

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; each option's default shown when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text \
                and action.option_strings and action.nargs != 0:  # not for on/off switches
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    from tfface import __version__
    from tfface.landmark_sources import JAW_MODES, LANDMARKERS
    from tfface.morphable.convert import FORMATS
    parser = argparse.ArgumentParser(
        prog="tfface", formatter_class=_HelpFormatter,
        description="One photo of a face -> a 3D face (ICT-FaceKit by default).",
        epilog="exit codes: 0 success, 2 bad argument or input file, 3 bad model or encoder "
               "file, 4 some files of a folder failed (listed), 1 internal error.\n"
               "'tfface COMMAND --help' shows each command's options and examples.")
    parser.add_argument("--version", action="version", version=f"tfface {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's and the converters' own log lines")
    common.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (for logs and scripts); the result lines stay")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common],
                              epilog=EXAMPLES.get(name), formatter_class=_HelpFormatter)

    demo = command("demo", "reconstruct synthetic photos with known answers")
    add_renamed(demo, "--morphable-model", "--model", default="ict",
                help="morphable model: .npz, ict or demo")
    demo.add_argument("--encoder",
                      help="encoder for --morphable-model (default: the model's shipped one)")
    demo.add_argument("--out", default="tfface_demo", help="output folder")
    demo.add_argument("--count", type=int_at_least(1), default=6, help="number of faces")
    demo.add_argument("--size", type=int_at_least(MIN_IMAGE_SIZE), default=256,
                      help="image size in pixels")
    demo.add_argument("--fit", type=int_at_least(0), default=0, metavar="N",
                      help="photometric fitting steps per face")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the synthetic faces")
    demo.set_defaults(func=cmd_demo)

    convert = command("convert-model", "convert BFM / eos / ICT files to tfface's npz")
    convert.add_argument("format", choices=FORMATS)
    convert.add_argument("input", help="model file or folder in the original layout")
    convert.add_argument("--expressions", help="expression file (Exp_Pca.bin, blendshapes .bin)")
    convert.add_argument("--landmarks", help="68 vertex ids, iBUG order (.txt or model .npz)")
    convert.add_argument("--out", required=True, help="output .npz")
    convert.set_defaults(func=cmd_convert_model)

    from tfface.export import FORMATS as EXPORT_FORMATS
    export = command("export", "export the encoder alone (TFLite / ONNX / SavedModel), "
                               "verified against Keras")
    add_renamed(export, "--encoder", "--model", help="encoder .keras file")
    export.add_argument("--checkpoint", help="training run folder (train.py output_dir)")
    export.add_argument("--morphable-model", default="ict",
                        help="morphable model of an --encoder encoder: .npz, ict or demo")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS + ("all",),
                        type=lambda name: "tflite-fp32" if name == "tflite" else name,
                        help="one format (tflite: tflite-fp32), or all of them into the --out "
                             "folder")
    export.add_argument("--out", required=True,
                        help="output file (a folder for savedmodel and for all)")
    export.add_argument("--int8-io", action="store_true", help="int8 input/output (tflite-int8)")
    export.add_argument("--samples", type=int_at_least(1), default=16,
                        help="synthetic faces for parity and int8 calibration")
    export.set_defaults(func=cmd_export)

    prep = command("prepare", "photos -> aligned TFRecord training shards + manifest")
    prep.add_argument("--images", required=True, help="folder of photos")
    prep.add_argument("--landmarks", default="auto",
                      help="folder of <photo>.pts files, or auto: .pts beside the photo when "
                           "present, else the landmarker")
    prep.add_argument("--out", required=True, help="output folder for shards + manifest.json")
    prep.add_argument("--size", type=int_at_least(MIN_IMAGE_SIZE), default=224,
                      help="crop size in pixels")
    prep.add_argument("--morphable-model", default="ict",
                      help="the model to train: crops are aligned to its mean face")
    prep.add_argument("--shard-size", type=int_at_least(1), default=64, help="photos per shard")
    prep.add_argument("--workers", type=int_at_least(1), default=os.cpu_count() or 1,
                      help="processes preparing shards in parallel")
    prep.add_argument("--jaw", choices=JAW_MODES,
                      help="what the jaw landmarks mark (see reconstruct --jaw); training "
                           "compares them with the matching model vertices; default: "
                           "contour for .pts, fixed for MediaPipe")
    prep.set_defaults(func=cmd_prepare)

    def reconstruction_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--out", default="tfface_out", help="output folder")
        command.add_argument("--format", default="obj", help="mesh formats: obj,ply,glb")
        command.add_argument("--encoder",
                             help="encoder .keras/.tflite/.onnx, or a shipped one's name: "
                                  "photo (the default for ict; trained on research-use "
                                  "photos) or synthetic (synthetic faces only, licence-clean)")
        add_renamed(command, "--morphable-model", "--model", default="ict",
                    help="morphable model: .npz, ict or demo")
        command.add_argument("--texture", type=int_at_least(0), default=0, metavar="SIZE",
                             help="also extract a SIZE x SIZE UV texture from the photo: OBJ "
                                  "(+ .mtl, _texture.png) and GLB carry it, plus an albedo "
                                  "texture _albedo.png; 0: vertex colours only")
        command.add_argument("--jaw", choices=JAW_MODES,
                             help="what the jaw landmarks mark: the visible outline (contour: "
                                  "dlib, 300-W .pts), a frontal face's outline carried on the "
                                  "head, hidden or not (outline: AFLW2000-3D, LS3D-W .pts), or "
                                  "the model's own jaw vertices (fixed: MediaPipe); default: "
                                  "fixed for MediaPipe, else contour")
        command.add_argument("--keep-unconfirmed", action="store_true",
                             help="photos: also reconstruct detections the face mesh does "
                                  "not confirm (mostly faces turned beyond about 60 degrees; "
                                  "rough, and a false detection is reconstructed too)")

    rec = command("reconstruct", "photo, folder of photos or video -> 3D faces")
    rec.add_argument("input", help="photo, folder of photos, or video (.mp4 .avi .mov ...)")
    reconstruction_options(rec)
    rec.add_argument("--fit", type=int_at_least(0), default=0, metavar="N",
                     help="refine each face with N photometric fitting steps")
    rec.add_argument("--no-smoothing", action="store_true",
                     help="videos: no One-Euro smoothing of pose and expression")
    rec.add_argument("--no-tracking", action="store_true",
                     help="videos: detect the face in every frame instead of following it "
                          "from the last frame's landmarks")
    rec.set_defaults(func=cmd_reconstruct)

    fit = command("fit", "reconstruct one photo with photometric fitting (analysis-by-synthesis)")
    fit.add_argument("photo")
    reconstruction_options(fit)
    fit.add_argument("--steps", type=int_at_least(1), default=100, help="photometric fitting steps")
    fit.set_defaults(func=cmd_fit)
    for each in (prep, rec, fit):
        each.add_argument("--landmarker", choices=LANDMARKERS, default="mediapipe",
                          help="face detector + 68 landmarks for photos without a .pts: "
                               "MediaPipe (shipped, Apache-2.0) or dlib (the [landmarks] "
                               "extra; frontal faces, non-commercial predictor)")
    for each in (demo, convert, export, prep, rec, fit):
        each.add_argument("--overwrite", action="store_true",
                          help="write into an --out that tfface did not write (only the files "
                               "this command writes are replaced)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from tfface.quiet import native_logs_silenced
    quiet = contextlib.nullcontext() if args.verbose else native_logs_silenced()
    with quiet:
        try:
            return args.func(args)
        except TfFaceError as error:
            print(f"tfface: error: {one_line(str(error))}", file=sys.stderr)
            return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
