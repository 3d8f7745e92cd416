"""Names of the FaceParams coefficient groups, in layout order.

Kept free of TensorFlow so that configs validate before TensorFlow starts;
:mod:`tfface.params` (the layout itself) reads them from here.
"""

from typing import Tuple

GROUPS: Tuple[str, ...] = (
    "identity",
    "expression",
    "albedo",
    "illumination",
    "rotation",
    "translation",
    "scale",
)
