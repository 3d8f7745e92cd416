"""UV texture extraction: ms per face at 1024 x 1024 (``tfface.inference.texture``).

Reconstructs the faces of ``../shared/faces`` photos (or synthetic ICT
renders when absent), then times :func:`tfface.inference.texture.face_texture`
(after one warm-up run, which also builds the cached UV layout), and reports
how the texels were filled (seen / mirrored / albedo). A table, then one
JSON line. eos's ``extract_texture`` takes 0.27-1.5 s per photo here.

    python benchmarks/texture.py [--size 1024] [--runs 5]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402

from tfface.faces import read_image  # noqa: E402
from tfface.inference.reconstruct import FaceReconstructor  # noqa: E402
from tfface.inference.texture import face_texture  # noqa: E402

FACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "faces")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    reconstructor = FaceReconstructor()
    rows = []
    for path in sorted(glob.glob(os.path.join(FACES, "*.jpg")) + glob.glob(os.path.join(FACES, "*.ppm"))):
        photo = read_image(path)
        for i, face in enumerate(reconstructor.reconstruct(photo)):
            face_texture(reconstructor, photo, face, args.size)
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                texture = face_texture(reconstructor, photo, face, args.size)
                times.append(1e3 * (time.perf_counter() - start))
            counts = np.bincount(texture.source.ravel(), minlength=4)[1:] / (texture.source > 0).sum()
            rows.append({"photo": os.path.basename(path), "face": i, "yaw": face.pose["yaw"],
                         "ms": float(np.median(times)), "seen": float(counts[0]),
                         "mirrored": float(counts[1]), "albedo_fill": float(counts[2])})
    if not rows:
        print(f"skipped: no photos in {FACES}")
        return 0
    print(f"texture {args.size}x{args.size}, median of {args.runs} runs")
    for r in rows:
        print(f"{r['photo']:18s} face {r['face']} yaw {r['yaw']:+6.1f}  {r['ms']:7.1f} ms  "
              f"seen {r['seen']:.0%}, mirrored {r['mirrored']:.0%}, albedo {r['albedo_fill']:.0%}")
    print(json.dumps({"benchmark": "texture", "size": args.size, "faces": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
