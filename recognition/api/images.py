"""Turning an uploaded file into pixels, with the status code each failure deserves.

413: larger than API_MAX_IMAGE_BYTES, or more pixels than API_MAX_IMAGE_PIXELS (read from the header, before a
pixel is decoded: a small PNG can announce 40 MP, about 1 GB once decoded and converted). 415: not an image at
all (a PDF, a text file) or a format this platform does not read. 400: a file that claims to be an image
(image/* type or an image file name) but cannot be decoded.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np

from recognition.api.errors import InvalidImageError, PayloadTooLarge, UnsupportedImageType
from recognition.api.parsers import max_image_bytes
from recognition.conf import recognition_settings
from recognition.engine.imageio import ImageTooLarge, InvalidImage, decode_image, image_format
from recognition.services.enrollment import EXTENSIONS
from recognition.uploads import IMAGE_SUFFIXES


def _claims_image(upload) -> bool:
    content_type = (getattr(upload, "content_type", "") or "").lower()
    suffix = PurePosixPath(getattr(upload, "name", "") or "").suffix.lower()
    return content_type.startswith("image/") or suffix in IMAGE_SUFFIXES


def check_size(upload, field: str = "image") -> None:
    limit = max_image_bytes()
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"{field} is {upload.size} bytes; at most {limit} bytes are accepted.")


def read_image(upload, field: str = "image") -> np.ndarray:
    """BGR pixels of an uploaded image file, or an API error with the right status code."""
    check_size(upload, field)
    upload.seek(0)
    data = upload.read()
    found_format = image_format(data)
    if found_format is None and not _claims_image(upload):
        content_type = getattr(upload, "content_type", "") or "unknown"
        raise UnsupportedImageType(
            f"{field} is not an image ({content_type}); send a JPEG, PNG, BMP, WEBP, TIFF or GIF image."
        )
    if found_format is not None and found_format not in EXTENSIONS:
        raise UnsupportedImageType(f"{field} is a {found_format} image; send JPEG, PNG, BMP, WEBP, TIFF or GIF.")
    try:
        return decode_image(data, max_pixels=recognition_settings().api_max_image_pixels)
    except ImageTooLarge as exc:
        raise PayloadTooLarge(f"{field} is too large: {exc}") from None
    except InvalidImage as exc:
        raise InvalidImageError(f"{field} cannot be decoded: {exc}") from None
