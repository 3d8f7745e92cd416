"""MediaPipe's BlazeFace detector and face mesh (v2, 478 points), run through LiteRT.

Both ``.tflite`` files ship in ``tfface/assets/mediapipe`` (Apache-2.0,
``tfface/assets/licenses/MEDIAPIPE-LICENSE``; taken from the mediapipe 0.10.14
wheel and the face_landmarker_v2 bundle) and run with ``ai-edge-litert``'s
interpreter, a dependency that installs beside TensorFlow 2.21 and numpy 2.
(``mediapipe`` itself no longer bundles the models and pins older numpy.)

* :class:`BlazeFaceDetector`: the short-range model (128 px, faces that fill
  more than about a tenth of its view). Input RGB in [-1, 1], letterboxed;
  896 SSD anchors (MediaPipe's ``face_detection_short_range_common``
  options: 4 layers, strides 8/16/16/16, fixed anchor size), box and 6
  keypoints decoded as MediaPipe's ``TensorsToDetectionsCalculator`` does
  (scale 128, sigmoid scores clipped at +-100, threshold 0.5), weighted
  non-maximum suppression (IoU 0.3). Large photos are also scanned in
  overlapping square tiles so small faces in group photos are found, and
  the photo's three other quarter turns too, so faces on their side or
  upside down are found upright, with keypoints that say which way is up,
  and in finer tiles for the small faces of large group photos.
* :class:`FaceMesh`: the v2 landmark model (256 px, RGB in [0, 1]) on a
  square crop around the detection, rotated so the eyes are level (the
  keypoints of both eyes), 478 points mapped back to the photo; with
  :meth:`FaceMesh.averaged`, averaged with its prediction on the mirrored
  crop (the two predictions' difference says how sure each point is).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from tfface import ASSETS
from tfface.faces.align import apply_transform, compose_transforms
from tfface.faces.mesh_map import MESH_MIRROR

MEDIAPIPE_ASSETS = os.path.join(ASSETS, "mediapipe")
DETECTOR_MODEL = os.path.join(MEDIAPIPE_ASSETS, "face_detection_short_range.tflite")
MESH_MODEL = os.path.join(MEDIAPIPE_ASSETS, "face_landmarks_v2.tflite")
DETECTOR_SIZE = 128
MESH_SIZE = 256
SCORE_THRESHOLD = 0.5
IOU_THRESHOLD = 0.3
TURNED_MIN_SCORE = 0.8
"""Score a detection in a quarter-turned copy of the photo needs: turned on
their side, ears, flowers and dice scored 0.5-0.75 (the detector's threshold
is 0.5), faces turned upright 0.85-0.95 (breakingbad, takeo; and AFLW2000-3D
photos looked at, not measured)."""
TURNED_MAX_ROLL = 60.0
"""Degrees from level the eye keypoints of a detection in a turned copy may
be: BlazeFace's keypoints on a face far from upright in its view are a
guess (AFLW2000-3D image03870, yaw 57 deg: its best detection, in the photo
turned three times, had the eyes 71 deg from level there and put the face
upside down; the faces that turns find, 0-36 deg)."""
MIN_TILE = 256
"""Side of the smallest tiles a photo is scanned in. BlazeFace finds a face
that fills a sixth of its window or more (takeo's 100-px face: in windows
up to 600 px, not 800), so faces down to about 45 px."""
FINE_MIN_SCORE = 0.75
"""Score a detection in the tiles finer than half the shorter side needs:
there BlazeFace fired on textures at 0.51-0.73 (photos of 2-12 megapixels:
breakingbad enlarged with takeo's face pasted in 15 times), on those faces
at 0.5-0.94, 70 % of the detections above 0.8."""
FINE_MIN_PRESENCE = 0.9
"""Face-presence score the face mesh must give a detection found only in the
finer tiles (the mesh's own rule is 0.5): there a car seat's texture in a
12 MP photo (breakingbad enlarged) scored 0.755 with the detector and 0.63
with the mesh; 236 detections of faces pasted at 45-80 px into photos of
2-12 megapixels all scored 1.00."""
PART_INSIDE = 0.6
"""A box this much inside a better one is a part of that face (found in a tile)."""
CROP_SCALE = 1.5
"""Side of the mesh crop over the detection box's longer side (MediaPipe's
``RectTransformationCalculator`` scale for face landmarks)."""
MODEL_PIXEL_CENTRE = 0.5
"""Where both models put a pixel's centre: pixel ``i`` spans ``[i, i + 1]``
(MediaPipe's normalised coordinates, ``x / size``), so its centre is at
``i + 0.5``; tfface's pixel centres are integers (OpenCV). Without this
shift the mesh predicted on a crop and on its mirror image disagree by one
crop pixel in x (1.02 +- 0.07 on 60 synthetic renders), as the convention
predicts; with it they agree (tests/test_mediapipe.py)."""
AVERAGED_TURNS = (5.0, -5.0)
"""In-plane turns (degrees) of the crop that :meth:`FaceMesh.averaged` also
predicts on, each with its mirror image, and averages: the mesh's points
move by a fraction of a pixel with the crop, and the average of slightly
different crops cancels part of that. Chosen on the photo-like development
renders (``benchmarks/pose_renders.py``, seeds 123 / 5; pose MAE 6.53 ->
6.47 / 6.74 -> 6.64 deg), ahead of shifted crops (+-3 % of the crop: 6.46 /
6.69 at twice the extra time); on AFLW2000-3D the 68 points' NME 5.84 ->
5.79 %, pose unchanged (benchmarks/NOTES.md)."""
RIGHT_EYE, LEFT_EYE = 0, 1
"""BlazeFace keypoints: the subject's right eye (image left), left eye, nose
tip, mouth centre, right ear tragion, left ear tragion."""
DETECT_MAX_PIXELS = 16_000_000
"""Largest photo (pixels) the detector searches as it is: 16 MP, beyond the
12 MP of most phone cameras; a larger one is searched downscaled to it."""


@dataclasses.dataclass
class Detection:
    """``box`` ``[4]`` (x0, y0, x1, y1) and ``keypoints`` ``[6, 2]`` in photo
    pixels; ``score`` in 0..1; ``fine``: found only in the finer tiles (a
    small face; the face mesh must confirm it by :data:`FINE_MIN_PRESENCE`)."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float
    fine: bool = False


def cpu_threads() -> int:
    """The CPU cores this process may run on (its affinity set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (not on Linux)
        return os.cpu_count() or 1


def _interpreter(path: str, threads: Optional[int]):
    """A LiteRT interpreter of ``path`` on ``threads`` threads (None: every
    core; its results are the same on any number, bit for bit)."""
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=path, num_threads=threads or cpu_threads())
    interpreter.allocate_tensors()
    return interpreter


@functools.lru_cache(maxsize=1)
def ssd_anchors() -> np.ndarray:
    """The 896 anchor centres ``[896, 2]`` (0..1) of the short-range model:
    16x16 cells with 2 anchors (stride 8), then 8x8 cells with 6 (three
    stride-16 layers merged), each cell's anchors together, row by row."""
    centres = []
    for cells, per_cell in ((16, 2), (8, 6)):
        y, x = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(x + 0.5) / cells, (y + 0.5) / cells], -1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres)


def overlaps(box: np.ndarray, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Intersection over union of ``box`` ``[4]`` with each of ``boxes``
    ``[N, 4]``, and the fraction of each of ``boxes`` inside ``box``."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / (np.prod(box[2:] - box[:2]) + area - inter + 1e-9), inter / (area + 1e-9)


def merged_with(box: np.ndarray, boxes: np.ndarray, threshold: float = IOU_THRESHOLD
                ) -> np.ndarray:
    """Which of ``boxes`` ``[N, 4]`` suppression merges into ``box`` ``[4]``
    (``[N]`` bool): those overlapping it by more than ``threshold`` IoU, or
    lying mostly inside it."""
    iou, inside = overlaps(box, boxes)
    return (iou > threshold) | (inside > PART_INSIDE)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = IOU_THRESHOLD, average: bool = True) -> List[Detection]:
    """MediaPipe's weighted non-maximum suppression: each kept detection is
    the score-weighted mean of the boxes and keypoints it suppresses (those
    overlapping it by more than ``threshold`` IoU, or lying mostly inside it);
    with ``average=False``, the best of them as it is."""
    order = np.argsort(-scores)
    out = []
    while len(order):
        merged = merged_with(boxes[order[0]], boxes[order], threshold)
        group = order[merged] if average else order[:1]
        weights = scores[group][:, None]
        out.append(Detection((boxes[group] * weights).sum(0) / weights.sum(),
                             (keypoints[group] * weights[:, :, None]).sum(0) / weights.sum(),
                             float(scores[order[0]])))
        order = order[~merged]
    return out


class BlazeFaceDetector:
    """Faces in RGB photos with MediaPipe's short-range BlazeFace
    (``threads``: the interpreter's, None for every core)."""

    def __init__(self, score_threshold: float = SCORE_THRESHOLD,
                 threads: Optional[int] = None) -> None:
        self._model = _interpreter(DETECTOR_MODEL, threads)
        self._input = self._model.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._model.get_output_details()}
        self._boxes, self._scores = outputs["regressors"], outputs["classificators"]
        self.score_threshold = score_threshold

    def _run(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw detections of an RGB window ``[128, 128, 3]``: boxes ``[N, 4]``,
        keypoints ``[N, 6, 2]`` (0..1 of the window, from its top-left corner,
        not its first pixel's centre) and scores ``[N]``."""
        self._model.set_tensor(self._input, (image[None].astype(np.float32) / 127.5 - 1.0))
        self._model.invoke()
        raw = self._model.get_tensor(self._boxes)[0] / DETECTOR_SIZE
        logits = np.clip(self._model.get_tensor(self._scores)[0, :, 0], -100, 100)
        scores = 1 / (1 + np.exp(-logits.astype(np.float64)))
        keep = scores >= self.score_threshold
        anchors = ssd_anchors()[keep]
        raw = raw[keep]
        centre = raw[:, :2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        keypoints = raw[:, 4:].reshape(-1, 6, 2) + anchors[:, None]
        return boxes, keypoints, scores[keep]

    def __call__(self, image_rgb: np.ndarray, min_tile: float = MIN_TILE) -> List[Detection]:
        """Detections in a uint8 RGB photo ``[H, W, 3]``, best score first.

        BlazeFace finds upright faces, so the photo is searched as it is and
        in its three other quarter turns (a face on its side or upside down
        is upright in one of them; a detection there needs
        :data:`TURNED_MIN_SCORE`), each turn as :meth:`upright` searches it
        (the turned ones without the smaller tiles: a face in a photo taken
        sideways is usually a large one), where a detection also needs its
        eyes within :data:`TURNED_MAX_ROLL` of level (a turn vouches for
        faces near upright in it only). A face found in several turns
        keeps its best detection (keypoints of different turns are not
        averaged), mapped back to the photo. Then, for faces too small for
        those tiles (a large group photo), finer tiles (:func:`finer_tiles`),
        whose detections need :data:`FINE_MIN_SCORE` and are kept where no
        detection at least as sure was found. A photo of more than
        :data:`DETECT_MAX_PIXELS` is searched in a copy downscaled to that
        size (the work and memory stay bounded; the boxes are mapped back)."""
        height, width = image_rgb.shape[:2]
        if height * width > DETECT_MAX_PIXELS:
            ratio = math.sqrt(DETECT_MAX_PIXELS / (height * width))
            small = cv2.resize(image_rgb, (max(1, round(width * ratio)),
                                           max(1, round(height * ratio))),
                               interpolation=cv2.INTER_AREA)
            return [scaled(d, width / small.shape[1]) for d in self(small, min_tile)]
        shorter = min(image_rgb.shape[:2])
        detections = self.upright(image_rgb, coarse_tiles(image_rgb.shape, 2, min_tile))
        # the turned searches see windows of at least the shorter side: a copy
        # with a shorter side of twice the detector's input does (1080p: 40 -> 7 ms a turn)
        ratio = min(1.0, 2 * DETECTOR_SIZE / shorter)
        small = image_rgb if ratio == 1.0 else cv2.resize(
            image_rgb, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
        height, width = small.shape[:2]
        for turns in (1, 2, 3):
            turned = np.ascontiguousarray(np.rot90(small, turns))
            found = self.upright(turned, coarse_tiles(turned.shape, 1, min_tile * ratio))
            detections += [scaled(unturned(d, turns, width, height), 1 / ratio) for d in found
                           if d.score >= TURNED_MIN_SCORE and abs(eye_roll(d)) <= TURNED_MAX_ROLL]
        found = weighted_nms(np.array([d.box for d in detections]),
                             np.array([d.keypoints for d in detections]),
                             np.array([d.score for d in detections]),
                             average=False) if detections else []
        # faces too small for those tiles (a group photo): finer tiles, where
        # nothing at least as sure was found
        finer = [dataclasses.replace(d, fine=True)
                 for d in self.upright(image_rgb, finer_tiles(shorter, min_tile), whole=False,
                                       edges=True)
                 if d.score >= FINE_MIN_SCORE and not any(
                     f.score >= d.score and merged_with(f.box, d.box[None])[0] for f in found)]
        return sorted(found + finer, key=lambda d: -d.score)

    def upright(self, image_rgb: np.ndarray, tiles: Sequence[int], whole: bool = True,
                edges: bool = False) -> List[Detection]:
        """Detections of upright faces in a uint8 RGB photo ``[H, W, 3]``,
        best score first.

        The whole photo (letterboxed; unless not ``whole``), then square
        tiles of each side in ``tiles``, with half-tile overlap (and,
        with ``edges``, a last row and column against the photo's far
        edges, which half-tile steps can leave uncovered); all merged by
        weighted non-maximum suppression, and a box mostly inside a better
        one (a face part found in a tile) dropped. The windows of a level
        are cut from one copy of the photo resized so a tile is the
        detector's input (resizing each window instead: 0.23 vs 0.18 s at
        1080p, 1.0 vs 0.67 s at 12 MP, one thread)."""
        height, width = image_rgb.shape[:2]
        side = max(height, width)
        boxes, keypoints, scores = [], [], []

        def detect(window: np.ndarray, x: float, y: float, size: float) -> None:
            """Detections of ``window`` (the photo's square at ``x, y``, ``size`` pixels)."""
            found = self._run(window)
            corner = np.array([x, y]) - MODEL_PIXEL_CENTRE  # the window's top-left corner
            boxes.append(found[0] * size + np.tile(corner, 2))
            keypoints.append(found[1] * size + corner)
            scores.append(found[2])

        def resized(size: int) -> np.ndarray:
            """The photo resized so ``size`` pixels become the detector's input."""
            scale = DETECTOR_SIZE / size
            return cv2.resize(image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

        if whole and min(height, width) * DETECTOR_SIZE >= side:
            # letterboxed: the photo at the window's top left (unless it would
            # be under a pixel thick there, as a 10 x 4000 strip: no face to see)
            small = resized(side)
            window = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.uint8)
            window[:small.shape[0], :small.shape[1]] = small
            detect(window, 0, 0, side)
        for tile in tiles:
            level, scale = resized(tile), tile / DETECTOR_SIZE
            for y in tile_starts(level.shape[0], DETECTOR_SIZE, edges):
                for x in tile_starts(level.shape[1], DETECTOR_SIZE, edges):
                    detect(level[y:y + DETECTOR_SIZE, x:x + DETECTOR_SIZE], x * scale, y * scale,
                           tile)
        if not boxes:  # (the finer tiles of a small photo)
            return []
        detections = weighted_nms(np.concatenate(boxes), np.concatenate(keypoints),
                                  np.concatenate(scores))
        return [d for d in detections if d.box[0] < width and d.box[1] < height]


def coarse_tiles(shape: Sequence[int], levels: int, min_tile: float = MIN_TILE) -> List[int]:
    """Tile sides of a photo of ``shape`` (H, W, ...) for its first search:
    the shorter side, half of it, ... (``levels`` of them), those of at least
    ``min_tile`` pixels and smaller than the whole (letterboxed) photo."""
    shorter, longer = min(shape[:2]), max(shape[:2])
    return [tile for tile in (shorter >> k for k in range(levels))
            if min_tile <= tile < longer]


def finer_tiles(shorter: int, min_tile: float = MIN_TILE) -> List[int]:
    """Tile sides for faces too small for :func:`coarse_tiles` (two levels):
    ``min_tile``, twice that, ... below two thirds of half the shorter side
    (BlazeFace finds faces from a sixth of its window to about half, so
    each level covers a range of three and overlaps the next). Faces down
    to about 45 px are found in photos with a shorter side of 768 px or more
    (the coarse tiles' smallest face is a twelfth of the shorter side: 250
    px at 12 MP, 60 px at 720p, where there are no finer tiles)."""
    tiles, tile = [], int(min_tile)
    while tile < (shorter >> 1) * 2 / 3:
        tiles.append(tile)
        tile *= 2
    return tiles


def tile_starts(length: int, tile: int, to_end: bool = False) -> List[int]:
    """Where tiles of side ``tile`` start along ``length`` pixels: every half
    tile, and (``to_end``) one more against the end when those stop short."""
    starts = list(range(0, length - tile + 1, tile // 2))
    return starts + [length - tile] if to_end and starts[-1] != length - tile else starts


def unturned(detection: Detection, turns: int, width: int, height: int) -> Detection:
    """A detection in ``np.rot90(photo, turns)`` (quarter turns
    anticlockwise) of a ``width`` x ``height`` photo, in the photo's pixels."""
    points = np.concatenate([detection.box.reshape(2, 2), detection.keypoints])
    u, v = points[:, 0], points[:, 1]
    x, y = {0: (u, v), 1: (width - 1 - v, u), 2: (width - 1 - u, height - 1 - v),
            3: (v, height - 1 - u)}[turns % 4]
    points = np.stack([x, y], 1)
    return Detection(np.concatenate([points[:2].min(0), points[:2].max(0)]), points[2:],
                     detection.score)


def eye_roll(detection: Detection) -> float:
    """Degrees the detection's eye line is turned from level (clockwise on
    screen, image y down)."""
    dx, dy = detection.keypoints[LEFT_EYE] - detection.keypoints[RIGHT_EYE]
    return float(np.degrees(np.arctan2(dy, dx)))


def scaled(detection: Detection, factor: float) -> Detection:
    """A detection in a photo resized by ``1 / factor``, in the photo's pixels
    (integer pixel centres)."""
    def scale(points: np.ndarray) -> np.ndarray:
        return (points + 0.5) * factor - 0.5
    box = scale(detection.box.reshape(2, 2)).reshape(4)
    return dataclasses.replace(detection, box=box, keypoints=scale(detection.keypoints))


def eye_aligned_crop(box: np.ndarray, right_eye: np.ndarray, left_eye: np.ndarray,
                     scale: float = CROP_SCALE) -> np.ndarray:
    """The ``[2, 3]`` affine map from photo pixels to a :data:`MESH_SIZE` crop:
    a square of ``scale`` times the box's longer side about its centre,
    rotated so the eyes are level."""
    centre = (box[:2] + box[2:]) / 2
    side = scale * max(box[2] - box[0], box[3] - box[1])
    dx, dy = left_eye - right_eye
    angle = np.arctan2(dy, dx)
    c, s = np.cos(-angle), np.sin(-angle)
    k = MESH_SIZE / side
    rotation = k * np.array([[c, -s], [s, c]])
    offset = np.array([MESH_SIZE / 2, MESH_SIZE / 2]) - rotation @ centre
    return np.concatenate([rotation, offset[:, None]], 1)


class FaceMesh:
    """MediaPipe's face mesh v2: 478 3D points of a face (``threads``: the
    interpreter's, None for every core)."""

    def __init__(self, threads: Optional[int] = None) -> None:
        self._model = _interpreter(MESH_MODEL, threads)
        self._input = self._model.get_input_details()[0]["index"]
        outputs = sorted(self._model.get_output_details(), key=lambda d: -int(np.prod(d["shape"])))
        self._points, self._flag = outputs[0]["index"], outputs[1]["index"]

    def __call__(self, image_rgb: np.ndarray, transform: np.ndarray) -> Tuple[np.ndarray, float]:
        """Points ``[478, 3]`` (x, y photo pixels; z in the same pixel scale,
        relative) of the face that ``transform`` (photo -> crop, ``[2, 3]``)
        crops, and the model's face-presence score (0..1)."""
        crop = cv2.warpAffine(image_rgb, transform, (MESH_SIZE, MESH_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        self._model.set_tensor(self._input, crop[None].astype(np.float32) / 255.0)
        self._model.invoke()
        points = self._model.get_tensor(self._points).reshape(-1, 3).astype(np.float64)
        flag = float(self._model.get_tensor(self._flag).reshape(-1)[0])
        inverse = cv2.invertAffineTransform(transform)
        xy = apply_transform(inverse, points[:, :2] - MODEL_PIXEL_CENTRE)
        z = points[:, 2:] * np.linalg.norm(inverse[:, 0])
        return np.concatenate([xy, z], 1), 1 / (1 + np.exp(-flag))

    def averaged(self, image_rgb: np.ndarray, transform: np.ndarray) -> "AveragedMesh":
        """As :meth:`__call__`, averaged with the prediction on the mirrored
        crop (relabelled by :data:`tfface.faces.mesh_map.MESH_MIRROR`) and on
        the crop turned by each of :data:`AVERAGED_TURNS` and its mirror:
        test-time averaging, at ``2 (1 + len(AVERAGED_TURNS))`` times the
        time. The presence score and ``difference`` (a per-point measure of
        the predictions' uncertainty) are those of ``transform``'s crop and
        its mirror image."""
        crops = [transform] + [compose_transforms(crop_turn(degrees), transform)
                               for degrees in AVERAGED_TURNS]
        pairs = [self._and_mirrored(image_rgb, crop) for crop in crops]
        (points, presence), (mirrored, mirrored_presence) = pairs[0]
        return AveragedMesh(np.mean([p for pair in pairs for p, _ in pair], 0),
                            (presence + mirrored_presence) / 2, points - mirrored)

    def _and_mirrored(self, image_rgb: np.ndarray, transform: np.ndarray
                      ) -> Tuple[Tuple[np.ndarray, float], Tuple[np.ndarray, float]]:
        """:meth:`__call__` on ``transform``'s crop and on its mirror image,
        the latter's points relabelled by :data:`tfface.faces.mesh_map.MESH_MIRROR`."""
        mirrored, presence = self(image_rgb, mirrored_crop(transform))
        return self(image_rgb, transform), (mirrored[MESH_MIRROR], presence)


class AveragedMesh(NamedTuple):
    """:meth:`FaceMesh.averaged`'s result: ``points`` ``[478, 3]`` (photo
    pixels, the mean of its predictions), the mean face-presence score of the
    upright crop and its mirror image, and ``difference`` ``[478, 3]``, the
    prediction on the crop less that on its mirror image."""

    points: np.ndarray
    presence: float
    difference: np.ndarray


def crop_turn(degrees: float) -> np.ndarray:
    """The ``[2, 3]`` map turning a :data:`MESH_SIZE` crop by ``degrees``
    about its centre (counter-clockwise as seen, y down)."""
    return cv2.getRotationMatrix2D(((MESH_SIZE - 1) / 2, (MESH_SIZE - 1) / 2), degrees, 1.0)


def mirrored_crop(transform: np.ndarray) -> np.ndarray:
    """The crop ``[2, 3]`` of ``transform`` ``[2, 3]``, mirrored left-right."""
    flip = np.array([[-1.0, 0.0, MESH_SIZE - 1], [0.0, 1.0, 0.0]])
    return compose_transforms(flip, transform)


MESH_EYE_CORNERS = (33, 263)
"""Mesh vertices of the outer eye corners (image left, image right), to level
a crop made from landmarks (MediaPipe's ``face_landmarks_to_roi``)."""


def mesh_crop(points: np.ndarray, scale: float = CROP_SCALE) -> np.ndarray:
    """The eye-levelled crop ``[2, 3]`` around a face's previous mesh points
    ``[478, 2+]``: the next frame's crop when tracking, or a second pass."""
    xy = points[:, :2]
    box = np.concatenate([xy.min(0), xy.max(0)])
    return eye_aligned_crop(box, xy[MESH_EYE_CORNERS[0]], xy[MESH_EYE_CORNERS[1]], scale)
