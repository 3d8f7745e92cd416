"""Reading photos robustly: EXIF rotation, grayscale/RGBA/16-bit, truncation, size."""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tfface.errors import TfFaceError
from tfface.io_utils import InputFileError, check_input_file

MAX_MEGAPIXELS = 100.0
"""Larger photos are refused (a decompression-bomb guard, like Pillow's)."""


class ImageReadError(TfFaceError):
    """A photo that cannot be used; ``reason`` is a short manifest label."""

    def __init__(self, path: str, reason: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.reason = reason


def read_image(path: str, max_megapixels: float = MAX_MEGAPIXELS) -> np.ndarray:
    """Photo file -> uint8 RGB ``[H, W, 3]``, upright (EXIF orientation applied).

    Grayscale is replicated to RGB, alpha is dropped, 16-bit images are
    scaled to 8 bits. Raises :class:`ImageReadError` with a reason
    (``missing``, ``unreadable``, ``not_an_image``, ``truncated``, ``too_large``).
    """
    try:
        check_input_file(path)
    except InputFileError as error:
        reason = "not_an_image" if error.reason == "not_a_file" else error.reason
        raise ImageReadError(path, reason, error.detail) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                pixels = image.size[0] * image.size[1] / 1e6
                if pixels > max_megapixels:
                    raise ImageReadError(path, "too_large",
                                         f"{pixels:.0f} megapixels, more than the "
                                         f"{max_megapixels:.0f} allowed; downscale it")
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb8(image)
    except FileNotFoundError:
        raise ImageReadError(path, "missing", "no such file; check the path") from None
    except PermissionError:
        raise ImageReadError(path, "unreadable", "no permission to read it; check the "
                             "file's permissions") from None
    except IsADirectoryError:
        raise ImageReadError(path, "not_an_image", "is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not_an_image",
                             "not an image file (or an unsupported format); "
                             "use JPEG, PNG, BMP, PPM or WebP") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(path, "too_large", "too many pixels; downscale it") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(path, "truncated",
                             f"damaged or truncated image ({error}); re-export it") from None


def _to_rgb8(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        array = np.asarray(image, np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        gray = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))
