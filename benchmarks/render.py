"""Render benchmark: bare visibility pass vs differentiable render vs training step.

Prints ms per image (batch 8, 224x224) for the demo model, a ~35k-vertex /
~70k-triangle mesh and, when ../shared is present, the real SFM and ICT
models; next to it, the alternative: tensorflow-graphics' C++ CPU kernel
rebuilt from its wheel (time and % of pixels where both pick the same
triangle). Then one JSON line. Targets (issue #2): forward+backward
<= 3x the bare visibility pass of the same run; a full decoder -> normals ->
SH -> render -> loss training step for 8 images well under 220 ms.

    python benchmarks/render.py [--batch 8] [--size 224] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import trimesh  # noqa: E402

from tfface.layers import Renderer  # noqa: E402
from tfface.morphable import MorphableModel, demo_model  # noqa: E402

from tfg_kernel import build_tfg_cpu_rasterizer, tfg_kernel_triangle_ids  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models")


def large_model() -> MorphableModel:
    """A ~35k-vertex / ~70k-triangle head-sized sphere with BFM-sized bases."""
    sphere = trimesh.creation.uv_sphere(radius=90.0, count=[133, 133])
    v = len(sphere.vertices)
    rng = np.random.default_rng(0)
    front = np.flatnonzero(sphere.vertices[:, 2] > 50)
    return MorphableModel(mean_shape=sphere.vertices, id_basis=rng.normal(size=(3 * v, 80)) * 0.1,
                          exp_basis=rng.normal(size=(3 * v, 64)) * 0.1, triangles=sphere.faces,
                          landmark_indices=rng.choice(front, 68),
                          albedo_basis=rng.normal(size=(3 * v, 80)) * 0.001, name="sphere-35k")


def _time(fn, repeats: int) -> float:
    fn()  # trace + warm up
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000.0


def bench_tfg_kernel(backend, renderer: Renderer, params: tf.Variable, repeats: int) -> dict:
    """tfg's C++ CPU kernel on the same scene: time and agreement with ours."""
    per_vertex = renderer.compute_for_render(params)
    world, clip = per_vertex["vertices"], per_vertex["clip"]
    triangles = renderer.rasterizer.triangles.numpy()

    def kernel():
        return tfg_kernel_triangle_ids(backend, renderer.camera, world, triangles)

    theirs = kernel().numpy()
    ours = renderer.rasterizer.triangle_ids(clip).numpy()
    batch = int(params.shape[0])
    return {"tfg_kernel_ms": _time(kernel, repeats) / batch,
            "tfg_kernel_agreement": float(np.mean(theirs == ours))}


def bench(model: MorphableModel, batch: int, size: int, repeats: int, splat: bool,
          kernel=None) -> dict:
    renderer = Renderer.from_model(model, (size, size), silhouette_gradients=splat)
    layout = renderer.layout
    rng = np.random.default_rng(1)
    init = layout.zeros(batch)
    init[:, layout.slices["rotation"]] = rng.uniform(-0.3, 0.3, (batch, 3))
    params = tf.Variable(init)
    target = tf.constant(rng.uniform(size=(batch, size, size, 3)), tf.float32)
    optimizer = tf.keras.optimizers.Adam(1e-3)

    @tf.function
    def visibility():
        clip = renderer.compute_for_render(params)["clip"]
        return renderer.rasterizer.triangle_ids(clip)

    @tf.function
    def forward():
        return renderer(params, target)["image"]

    def loss_of(out):
        diff = (out["image"] - target) * out["mask"]
        return tf.reduce_sum(tf.square(diff)) / (tf.reduce_sum(out["mask"]) + 1.0)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = loss_of(renderer(params, target))
        return tape.gradient(loss, params)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_of(renderer(params, target)) + 1e-4 * tf.reduce_sum(tf.square(params))
        optimizer.apply_gradients([(tape.gradient(loss, params), params)])
        return loss

    result = {"model": model.name, "vertices": model.num_vertices,
              "triangles": model.num_triangles, "splat": splat}
    for name, fn in (("visibility_ms", visibility), ("forward_ms", forward),
                     ("forward_backward_ms", forward_backward), ("train_step_ms", train_step)):
        result[name] = _time(fn, repeats) / batch
    result["fwd_bwd_over_visibility"] = result["forward_backward_ms"] / result["visibility_ms"]
    if kernel is not None:
        result.update(bench_tfg_kernel(kernel, renderer, params, repeats))
    result["train_step_ms_per_batch"] = result["train_step_ms"] * batch
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    kernel = build_tfg_cpu_rasterizer()
    models = [demo_model(), large_model()]
    for name in ("sfm/sfm_3448.npz", "ict/ict_face.npz"):  # real models, when ../shared is here
        if os.path.isfile(os.path.join(SHARED, name)):
            models.append(MorphableModel.load(os.path.join(SHARED, name)))
    rows = []
    for model in models:
        for splat in (False, True):
            row = bench(model, args.batch, args.size, args.repeats, splat,
                        None if splat else kernel)
            rows.append(row)
            print(f"{row['model']:>12} ({row['vertices']} v, {row['triangles']} t) "
                  f"{'splat' if splat else 'interp'}: visibility {row['visibility_ms']:.1f} ms/img, "
                  f"forward {row['forward_ms']:.1f}, forward+backward "
                  f"{row['forward_backward_ms']:.1f} ({row['fwd_bwd_over_visibility']:.2f}x), "
                  f"train step {row['train_step_ms_per_batch']:.0f} ms / batch of {args.batch}"
                  + (f"; tfg C++ kernel {row['tfg_kernel_ms']:.1f} ms/img, same triangle on "
                     f"{row['tfg_kernel_agreement']:.2%} of pixels" if "tfg_kernel_ms" in row else ""),
                  flush=True)
    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU x{os.cpu_count()}"
    print(json.dumps({"benchmark": "render", "batch": args.batch, "size": args.size,
                      "device": device, "machine": platform.machine(), "results": rows}))


if __name__ == "__main__":
    main()
