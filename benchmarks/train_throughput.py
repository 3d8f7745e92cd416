"""Training throughput: images/s per step, one device vs two replicas.

Each configuration runs in a fresh process (logical devices must be set
before TensorFlow starts). On a CPU machine the two replicas are two logical
CPU devices on the same cores (scaling shows overhead, not speed-up); with
GPUs, ``--replicas`` uses them.

    python benchmarks/train_throughput.py [--size 224] [--batch 16] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf, keras
replicas, size, batch, steps, encoder = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                          int(sys.argv[4]), sys.argv[5])
gpus = tf.config.list_physical_devices("GPU")
if gpus:
    devices = [f"/gpu:{i}" for i in range(min(replicas, len(gpus)))]
else:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    devices = [f"/cpu:{i}" for i in range(replicas)]
from tfface.morphable import demo_model
from tfface.layers import Renderer
from tfface.encoders import build_encoder
from tfface.training.autoencoder import FaceAutoencoder
strategy = tf.distribute.MirroredStrategy(devices) if replicas > 1 else tf.distribute.OneDeviceStrategy(devices[0])
with strategy.scope():
    renderer = Renderer.from_model(demo_model(), (size, size))
    model = FaceAutoencoder(build_encoder(renderer.layout, encoder, size), renderer)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
landmarks = rng.uniform(0, size, (batch, 68, 2)).astype(np.float32)
data = tf.data.Dataset.from_tensors((images, landmarks)).repeat()
model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
start = time.perf_counter()
model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
seconds = (time.perf_counter() - start) / steps
print("RESULT" + json.dumps({"replicas": replicas, "devices": devices,
                             "step_ms": 1000 * seconds, "images_per_s": batch / seconds}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=16, help="global batch")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--encoder", default="mobilenet_v3_small")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    for replicas in args.replicas:
        out = subprocess.run([sys.executable, "-c", WORKER, str(replicas), str(args.size),
                              str(args.batch), str(args.steps), args.encoder],
                             capture_output=True, text=True, cwd=root)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
        if not line:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{replicas} replica run failed")
        row = json.loads(line[0][len("RESULT"):])
        rows.append(row)
        print(f"{replicas} replica(s) on {', '.join(row['devices'])}: "
              f"{row['step_ms']:.0f} ms/step, {row['images_per_s']:.1f} images/s "
              f"({args.encoder}, {args.size}px, global batch {args.batch})", flush=True)
    if len(rows) > 1:
        print(f"scaling {rows[0]['replicas']} -> {rows[-1]['replicas']} replicas: "
              f"{rows[-1]['images_per_s'] / rows[0]['images_per_s']:.2f}x")
    print(json.dumps({"benchmark": "train_throughput", "size": args.size, "batch": args.batch,
                      "encoder": args.encoder, "results": rows}))


if __name__ == "__main__":
    main()
