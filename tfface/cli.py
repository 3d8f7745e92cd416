"""The ``tfface`` command line.

Exit codes: 0 success, 2 bad argument or input file, 3 bad model file,
1 unexpected internal error (with traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import numpy as np

from tfface.errors import TfFaceError
from tfface.morphable import load_model


def demo_params(layout, count: int, seed: int) -> np.ndarray:
    """Random faces for showing a model; the first is the mean face, frontal."""
    from tfface.data.synthetic import random_params
    params = random_params(layout, count, np.random.default_rng(seed))
    params[0] = 0.0
    params[0, layout.slices["illumination"]] = np.tile([0, 0.1, 0.15, 0.25, 0, 0, 0, 0, 0], 3)
    return params


def cmd_demo(args: argparse.Namespace) -> int:
    """Render faces of the (demo) model with landmarks; write PNG + coloured mesh."""
    from tfface.layers import Renderer
    from tfface.mesh_io import write_mesh
    from tfface.overlay import draw_landmarks, grid, to_uint8, write_image

    model = load_model(args.model)
    renderer = Renderer.from_model(model, (args.size, args.size))
    params = demo_params(renderer.layout, args.count, args.seed)
    background = np.full((args.count, args.size, args.size, 3), 0.25, np.float32)
    out = renderer(params, background)
    images = [draw_landmarks(to_uint8(img), lms) for img, lms in
              zip(out["image"].numpy(), out["landmarks2d"].numpy())]
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "demo_faces.png")
    write_image(png, grid(images, columns=min(4, args.count)))
    mesh = os.path.join(args.out, "demo_face.obj")
    write_mesh(mesh, out["vertices"].numpy()[0], model.triangles, out["colors"].numpy()[0])
    print(f"model {model.name}: {model.num_vertices} vertices, {model.num_triangles} triangles")
    print(f"wrote {png} ({args.count} faces with 68 landmarks) and {mesh}")
    return 0


def cmd_convert_model(args: argparse.Namespace) -> int:
    """Convert a morphable model from its original format to tfface's npz."""
    from tfface.morphable.convert import convert
    model = convert(args.format, args.input, expressions=args.expressions,
                    landmarks=args.landmarks)
    model.save(args.out)
    print(f"wrote {args.out}: {model.num_vertices} vertices, {model.num_identity} identity, "
          f"{model.num_expression} expression, {model.num_albedo} albedo components")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export the encoder alone, verified against Keras before it is written."""
    from export.pipeline import default_samples, export_encoder
    from tfface.params import FaceParams
    if (args.model is None) == (args.checkpoint is None):
        raise TfFaceError("give exactly one of --model ENCODER.keras or --checkpoint RUN_DIR")
    if args.checkpoint is not None:
        from tfface.training import encoder_from_run
        encoder, autoencoder, model = encoder_from_run(args.checkpoint)
        layout = autoencoder.renderer.layout
    else:
        from tfface.runtime import KerasEncoder, load_encoder
        runtime = load_encoder(args.model)
        if not isinstance(runtime, KerasEncoder):
            raise TfFaceError(f"{args.model}: --model must be a .keras encoder")
        encoder, model = runtime.model, load_model(args.morphable_model)
        layout = FaceParams.from_model(model)
        if layout.size != encoder.output_shape[-1]:
            raise TfFaceError(f"{args.model}: outputs {encoder.output_shape[-1]} params but the "
                              f"morphable model needs {layout.size}; pass --morphable-model")
    samples = default_samples(encoder, args.samples, model=model)
    if args.format != "all":
        export_encoder(encoder, layout, model, args.format, args.out, samples, args.int8_io)
        print(f"wrote {args.out} (+ {args.out}.json)")
        return 0
    from export import FORMATS
    os.makedirs(args.out, exist_ok=True)
    for fmt in FORMATS:
        suffix = {"onnx": ".onnx", "savedmodel": ""}.get(fmt, ".tflite")
        path = os.path.join(args.out, f"encoder-{fmt}{suffix}")
        export_encoder(encoder, layout, model, fmt, path, samples, args.int8_io)
        print(f"wrote {path} (+ .json)")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Photos (with .pts, or detected) -> aligned TFRecord shards + manifest."""
    from tfface.faces.prepare import prepare
    manifest = prepare(args.images, args.out, size=args.size,
                       landmarks_dir=None if args.landmarks == "auto" else args.landmarks,
                       shard_size=args.shard_size, workers=args.workers)
    print(f"{manifest['used']} of {manifest['photos']} photos used, {manifest['examples']} "
          f"faces in {len(manifest['shards'])} shards; {manifest['skipped']} skipped")
    for skip in manifest["skips"]:
        print(f"  skipped {skip['file']}: {skip['reason']}")
    print(f"wrote {os.path.join(args.out, 'manifest.json')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tfface.morphable.convert import FORMATS
    parser = argparse.ArgumentParser(prog="tfface", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="render faces of a model (demo model by default)")
    demo.add_argument("--model", help="model .npz (default: the embedded demo model)")
    demo.add_argument("--out", default="tfface_demo", help="output folder")
    demo.add_argument("--count", type=int, default=8, help="number of faces")
    demo.add_argument("--size", type=int, default=256, help="image size in pixels")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    convert = sub.add_parser("convert-model", help="convert BFM / eos / ICT files to npz")
    convert.add_argument("format", choices=FORMATS)
    convert.add_argument("input", help="model file or folder in the original layout")
    convert.add_argument("--expressions", help="expression file (Exp_Pca.bin, blendshapes .bin)")
    convert.add_argument("--landmarks", help="68 vertex ids, iBUG order (.txt or model .npz)")
    convert.add_argument("--out", required=True, help="output .npz")
    convert.set_defaults(func=cmd_convert_model)

    from export import FORMATS as EXPORT_FORMATS
    export = sub.add_parser("export", help="export the encoder (TFLite/ONNX/SavedModel)")
    export.add_argument("--model", help="encoder .keras file")
    export.add_argument("--checkpoint", help="training run folder (train.py output_dir)")
    export.add_argument("--morphable-model", help="model .npz of a --model encoder (default demo)")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS + ("all",),
                        help="one format, or all of them into the --out folder")
    export.add_argument("--out", required=True,
                        help="output file (a folder for savedmodel and for all)")
    export.add_argument("--int8-io", action="store_true", help="int8 input/output (tflite-int8)")
    export.add_argument("--samples", type=int, default=16,
                        help="synthetic faces for parity and int8 calibration")
    export.set_defaults(func=cmd_export)

    prep = sub.add_parser("prepare", help="photos -> aligned TFRecord training shards")
    prep.add_argument("--images", required=True, help="folder of photos")
    prep.add_argument("--landmarks", default="auto",
                      help="folder of <photo>.pts files, or auto: .pts beside the photo when "
                           "present, else the face detector")
    prep.add_argument("--out", required=True, help="output folder for shards + manifest.json")
    prep.add_argument("--size", type=int, default=224, help="crop size in pixels")
    prep.add_argument("--shard-size", type=int, default=64, help="photos per shard")
    prep.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    prep.set_defaults(func=cmd_prepare)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TfFaceError as error:
        print(f"tfface: error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
