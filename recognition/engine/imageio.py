"""Decode untrusted image bytes into a BGR uint8 array, upright, or fail with InvalidImage."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class InvalidImage(ValueError):
    """The data is not a decodable image, or is too large to decode safely."""


class ImageTooLarge(InvalidImage):
    """The header announces more pixels than the caller allows; nothing was decoded."""


_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def image_format(data: bytes) -> str | None:
    """The format PIL reads in these bytes ("JPEG", "PNG", ...), or None when they are no image it knows; reads
    the header only."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            return probe.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def decode_image(
    data: bytes | bytearray | memoryview | Path | str, *, max_pixels: int = 40_000_000
) -> np.ndarray:
    """Decode ``data`` (encoded bytes or a file path) to an HxWx3 BGR uint8 array.

    EXIF orientation is applied; gray, palette, RGBA, CMYK and 16-bit images are converted. Images with more
    than ``max_pixels`` pixels are refused from their header alone, before any pixel is decoded.
    """
    if isinstance(data, (str, Path)):
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise InvalidImage(f"cannot read image file: {exc}") from exc
    raw = bytes(data)
    if not raw:
        raise InvalidImage("empty image data")
    try:
        # Image.open only parses the header; pixels are decoded by load() below.
        img = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage("data is not a recognised image format") from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise InvalidImage(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image too large: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
        )
    try:
        img.load()
    except Exception as exc:  # Pillow raises OSError/ValueError/SyntaxError/struct.error on corrupt data
        raise InvalidImage(f"corrupt or truncated image data: {exc}") from exc
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a malformed EXIF block: show the pixels as stored rather than refuse the photo
        pass
    try:
        return _to_bgr(img)
    except Exception as exc:
        raise InvalidImage(f"cannot convert the image ({img.mode}): {exc}") from exc


def _to_bgr(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(img)
        # 16-bit samples (PNG) arrive as I;16* or as 32-bit "I": rescale the 0..65535 range to 0..255.
        if mode == "I" and arr.max(initial=0) <= 255:
            gray = arr.astype(np.uint8)
        else:
            gray = np.clip(arr.astype(np.float32) / 257.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if mode == "F":
        gray = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Show transparent areas as white, as a browser on a white page would.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    rgb = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
