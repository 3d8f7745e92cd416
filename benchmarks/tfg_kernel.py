"""Build tensorflow-graphics' CPU rasterizer kernel from the C++ source in its wheel.

The prebuilt ``rasterizer_op.so`` in tensorflow-graphics 2021.12.3 does not
load on TF 2.21 (undefined symbol); its sources still ship in the wheel and
build with g++ in a few seconds. Used by ``benchmarks/render.py`` to time the
alternative next to tfface's plain-TF visibility pass. Benchmark-only: the
library itself never needs a compiler.
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
