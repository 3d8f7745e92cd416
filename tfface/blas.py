"""numpy's BLAS held to one thread for tfface's per-face numpy work.

A face's landmarks, mesh mapping and landmark fit multiply and solve small
matrices (68-478 points, ~140 unknowns), where BLAS threads cost more than
they give; and OpenBLAS's threads spin for a while after threaded work,
taking the cores from the TFLite / TensorFlow models that run next. On this
project's 2-core CPU, over AFLW2000-3D (``benchmarks/aflw2000.py``),
MediaPipe's landmarks of a face took 34 ms with numpy's default threads and
22 ms with one, a landmark fit 8.2 and 6.6 ms, the same results. The limit
holds only while a decorated call runs, and only on the BLAS libraries
loaded with numpy (scipy's own is not used here); the rest of the process
keeps its threads.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy  # noqa: F401  its BLAS must be loaded for the controller to find it
from threadpoolctl import ThreadpoolController

CONTROLLER = ThreadpoolController()
Function = TypeVar("Function", bound=Callable)


def one_blas_thread(function: Function) -> Function:
    """``function`` run with numpy's BLAS held to one thread."""
    return CONTROLLER.wrap(limits=1, user_api="blas")(function)
