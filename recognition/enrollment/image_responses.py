"""Responses that carry face images: never cached, never embeddable by another site, thumbnails on the face."""

from __future__ import annotations

import io
import mimetypes

from django.http import FileResponse, Http404, HttpResponse
from PIL import Image, ImageOps

THUMB_PX = 96
PRIVATE = "private, no-store"  # never kept by a browser cache or a proxy
PLACEHOLDER_SVG = (
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{THUMB_PX}" height="{THUMB_PX}">'
    f'<rect width="100%" height="100%" fill="#ddd"/>'
    '<text x="50%" y="55%" font-size="12" text-anchor="middle" '
    'fill="#666" font-family="sans-serif">unreadable</text></svg>'
)


def thumbnail_jpeg(stream, face_box: list[float] | None) -> bytes:
    """A JPEG at most THUMB_PX on a side, centred on the enrolled face when there is one."""
    with Image.open(stream) as img:
        full_width = img.size[0]
        img.draft("RGB", (THUMB_PX * 4, THUMB_PX * 4))  # JPEG: decode at a reduced scale, much faster
        scale = img.size[0] / full_width
        img = ImageOps.exif_transpose(img).convert("RGB")
        if face_box:
            x1, y1, x2, y2 = (v * scale for v in face_box)
            side = max(x2 - x1, y2 - y1) * 1.5  # the face with some hair and chin around it
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            half = side / 2  # clamped to the picture: no black borders around tight face chips
            left, top = max(0, cx - half), max(0, cy - half)
            right, bottom = min(img.width, cx + half), min(img.height, cy + half)
            img = img.crop((round(left), round(top), round(right), round(bottom)))
        img.thumbnail((THUMB_PX, THUMB_PX))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)
        return out.getvalue()


def private_response(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = PRIVATE
    response["Cross-Origin-Resource-Policy"] = "same-origin"  # no other site may embed it with staff cookies
    return response


def face_image_response(image, *, thumb: bool) -> HttpResponse:
    """A stored face image (or its thumbnail around the face) for a view that has already checked who may see
    it. The content type comes from the extension chosen at intake from the decoded format, never the uploader."""
    if not image.file:
        raise Http404("this image has no file")
    try:
        stream = image.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("the image file is missing") from None
    if thumb:
        with stream:
            try:
                data = thumbnail_jpeg(stream, image.face_box)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                return private_response(HttpResponse(PLACEHOLDER_SVG, content_type="image/svg+xml"))
        return private_response(HttpResponse(data, content_type="image/jpeg"))
    content_type = mimetypes.guess_type(image.file.name)[0] or "application/octet-stream"
    return private_response(FileResponse(stream, content_type=content_type))
