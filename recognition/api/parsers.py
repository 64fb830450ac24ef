"""Request bodies the recognition endpoints take: multipart forms, or one raw image (image/* body)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser

from recognition.api.errors import PayloadTooLarge
from recognition.conf import recognition_settings


def max_image_bytes() -> int:
    return recognition_settings().api_max_image_bytes


class RawImageParser(BaseParser):
    """The body is the image itself: `curl --data-binary @face.jpg -H 'Content-Type: image/jpeg'`.
    It arrives as the `image` file; reading stops one byte past the size limit."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None) -> DataAndFiles:
        limit = max_image_bytes()
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(f"The image is larger than {limit} bytes.")
        content_type = (media_type or "application/octet-stream").split(";")[0].strip()
        return DataAndFiles({}, {"image": SimpleUploadedFile("upload", data, content_type=content_type)})


IMAGE_PARSERS = [MultiPartParser, FormParser, RawImageParser]
