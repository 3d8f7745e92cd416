"""ARKit's blendshape names and a morphable model's: scores by one name, weights by the other."""

from __future__ import annotations

from typing import Dict, Mapping, Sequence

SIDES = {"_L": "Left", "_R": "Right"}
"""A model's side suffix -> ARKit's (ICT-FaceKit ``eyeBlink_L`` is ``eyeBlinkLeft``)."""


def model_blendshape_weights(scores: Mapping[str, float],
                             names: Sequence[str]) -> Dict[str, float]:
    """ARKit-named ``scores`` as weights of a model's blendshapes ``names``:
    a name found as it is, or with its side suffix spelt ARKit's way
    (``eyeBlink_L`` <- ``eyeBlinkLeft``), or, for a model that splits what
    ARKit does not (ICT-FaceKit's ``cheekPuff_L`` / ``_R``, ``browInnerUp_L``
    / ``_R``), the one unsided score for both. Names with no score are left out."""
    weights = {}
    for name in names:
        base, side = name[:-2], SIDES.get(name[-2:])
        for candidate in (name, base + side, base) if side else (name,):
            if candidate in scores:
                weights[name] = float(scores[candidate])
                break
    return weights
