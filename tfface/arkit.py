"""ARKit's blendshape names and a morphable model's: scores by one name, weights by the other.

ARKit (``ARFaceAnchor.BlendShapeLocation``) names 52 blendshapes, ``Left`` /
``Right`` the subject's sides; MediaPipe's blendshape model scores 51 of them
(no ``tongueOut``). ICT-FaceKit spells the side ``_L`` / ``_R`` and splits
``browInnerUp`` and ``cheekPuff`` into two sides.
"""

from __future__ import annotations

from typing import Dict, Mapping, Sequence, Tuple

ARKIT_NAMES = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut")
"""ARKit's 52 blendshape names, in alphabetical order."""
SIDES = {"_L": "Left", "_R": "Right"}
"""A model's side suffix -> ARKit's (ICT-FaceKit ``eyeBlink_L`` is ``eyeBlinkLeft``)."""


def _spellings(name: str) -> Tuple[str, ...]:
    """``name`` and what it may be called on the other side of the mapping:
    ``eyeBlink_L`` -> (``eyeBlink_L``, ``eyeBlinkLeft``, ``eyeBlink``)."""
    base, side = name[:-2], SIDES.get(name[-2:])
    return (name, base + side, base) if side else (name,)


def model_blendshape_weights(scores: Mapping[str, float],
                             names: Sequence[str]) -> Dict[str, float]:
    """ARKit-named ``scores`` as weights of a model's blendshapes ``names``:
    a name found as it is, or with its side suffix spelt ARKit's way
    (``eyeBlink_L`` <- ``eyeBlinkLeft``), or, for a model that splits what
    ARKit does not (ICT-FaceKit's ``cheekPuff_L`` / ``_R``, ``browInnerUp_L``
    / ``_R``), the one unsided score for both. Names with no score are left out."""
    weights = {}
    for name in names:
        found = [scores[n] for n in _spellings(name) if n in scores]
        if found:
            weights[name] = float(found[0])
    return weights


def arkit_weights(weights: Mapping[str, float]) -> Dict[str, float]:
    """A model's named blendshape ``weights`` under ARKit's names
    (:data:`ARKIT_NAMES`, those the model has): ``eyeBlink_L`` as
    ``eyeBlinkLeft``; a split pair (``cheekPuff_L`` / ``_R``) as the mean of
    its sides (``cheekPuff``). What an ARKit-rigged avatar reads."""
    sides: Dict[str, list] = {}
    for name, weight in weights.items():
        arkit = next((n for n in _spellings(name) if n in ARKIT_NAMES), None)
        if arkit is not None:
            sides.setdefault(arkit, []).append(float(weight))
    return {name: sum(sides[name]) / len(sides[name]) for name in ARKIT_NAMES if name in sides}
