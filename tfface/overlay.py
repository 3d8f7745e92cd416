"""Images people look at: renders to uint8, landmark overlays, image grids."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from tfface.io_utils import write_bytes_atomic


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float RGB in 0..1 -> uint8 RGB (NaN as black)."""
    return (np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def draw_landmarks(image_rgb: np.ndarray, landmarks: np.ndarray,
                   color: Sequence[int] = (0, 255, 0), radius: int = 1) -> np.ndarray:
    """Copy of a uint8 RGB image ``[H, W, 3]`` with points ``[N, 2]`` drawn."""
    out = np.ascontiguousarray(image_rgb).copy()
    points = np.asarray(landmarks, np.float64)
    for x, y in points[np.all(np.isfinite(points), 1)]:  # a diverged model's NaN: not drawn
        cv2.circle(out, (int(round(x)), int(round(y))), radius, tuple(int(c) for c in color), -1,
                   lineType=cv2.LINE_AA)
    return out


def draw_legend(image_rgb: np.ndarray, entries: Sequence[Tuple[str, Sequence[int]]]
                ) -> np.ndarray:
    """Copy of a uint8 RGB image with a small legend in its bottom-left corner:
    one coloured dot and label per ``(label, colour)`` entry, on a dark band."""
    out = np.ascontiguousarray(image_rgb).copy()
    height, width = out.shape[:2]
    scale = max(0.3, min(width, height) / 1000)
    line = int(round(22 * scale / 0.5))
    top = height - line * len(entries) - 4
    out[max(top, 0):] = (out[max(top, 0):] * 0.4).astype(np.uint8)
    for i, (label, color) in enumerate(entries):
        y = top + line * i + line // 2 + 2
        cv2.circle(out, (line // 2 + 2, y), max(2, line // 5), tuple(int(c) for c in color), -1)
        cv2.putText(out, label, (line + 4, y + line // 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_label(image_rgb: np.ndarray, text: str, corner: Sequence[float], height: float
               ) -> np.ndarray:
    """Copy of a uint8 RGB image with ``text`` in white on a dark box of
    ``height`` pixels whose bottom-left corner is at ``corner`` (x, y)."""
    out = np.ascontiguousarray(image_rgb).copy()
    scale = height / 30  # FONT_HERSHEY_SIMPLEX: digits 22 px tall at scale 1, plus a margin
    thickness = max(1, round(2 * scale))
    (width, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = int(round(corner[0])), int(round(corner[1]))
    margin = max(1, round(height - text_height) // 2)
    cv2.rectangle(out, (x, y - int(round(height))), (x + width + 2 * margin, y), (0, 0, 0), -1)
    cv2.putText(out, text, (x + margin, y - margin), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def grid(images: Sequence[np.ndarray], columns: Optional[int] = None) -> np.ndarray:
    """Tile equally sized ``[H, W, 3]`` images row by row."""
    columns = columns or len(images)
    rows = -(-len(images) // columns)
    h, w = images[0].shape[:2]
    canvas = np.zeros((rows * h, columns * w, 3), images[0].dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = image
    return canvas


def write_image(path: str, image_rgb: np.ndarray) -> None:
    """Write a uint8 RGB image (PNG/JPEG by extension)."""
    ext = "." + path.rsplit(".", 1)[-1] if "." in path else ".png"
    ok, data = cv2.imencode(ext, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"cannot encode image as {ext}")
    write_bytes_atomic(path, data.tobytes())
