"""Build tensorflow-graphics' CPU rasterizer kernel from the C++ source in its wheel.

The prebuilt ``rasterizer_op.so`` in tensorflow-graphics 2021.12.3 does not
load on TF 2.21 (undefined symbol); its sources still ship in the wheel and
build with g++ in ~20 s. It is the alternative timed beside tfface's
plain-TF visibility pass in ``benchmarks/render.py`` and the independent
reference that ``tests/test_rasterizer.py`` checks that pass against. The library itself never needs a
compiler.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import types
from typing import Optional

import tensorflow as tf


def build_tfg_cpu_rasterizer() -> Optional[types.ModuleType]:
    """Compile and register the kernel; returns tfg's CPU backend module or None."""
    import tensorflow_graphics.rendering as rendering
    source = os.path.join(os.path.dirname(rendering.__file__), "kernels")
    out = os.path.join(tempfile.mkdtemp(prefix="tfg_kernel_"), "rasterizer_op.so")
    command = (["g++", "-std=c++17", "-shared", "-fPIC", "-O2",
                os.path.join(source, "rasterize_triangles_impl.cc"),
                os.path.join(source, "rasterize_triangles_op.cc"), "-o", out]
               + tf.sysconfig.get_compile_flags() + tf.sysconfig.get_link_flags())
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        ops = tf.load_op_library(out)
    except (OSError, subprocess.SubprocessError, tf.errors.NotFoundError) as error:
        print(f"tfg CPU kernel not available: {type(error).__name__}", file=sys.stderr)
        return None
    sys.modules["tensorflow_graphics.rendering.kernels.gen_rasterizer_op"] = ops
    from tensorflow_graphics.rendering.kernels import rasterization_backend
    return rasterization_backend


def tfg_kernel_triangle_ids(backend: types.ModuleType, camera, world: tf.Tensor,
                            triangles) -> tf.Tensor:
    """Visible triangle ids ``[B, H, W]`` (-1 = background) from tfg's kernel.

    tfface's clip space flips y, which mirrors the winding tfg's kernel sees,
    so it gets the triangles reversed, with back-face culling.
    """
    batch = tf.shape(world)[0]
    matrices = tf.tile(tf.constant(camera.view_projection_matrix())[None], [batch, 1, 1])
    reversed_triangles = tf.constant(triangles[:, ::-1].copy(), tf.int32)
    height, width = camera.image_size
    framebuffer = backend.rasterize(world, reversed_triangles, matrices, (width, height), True, 1)
    mask = framebuffer.foreground_mask[:, 0, ..., 0] > 0
    return tf.where(mask, framebuffer.triangle_id[:, 0, ..., 0], -1)
