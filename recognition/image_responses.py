"""Responses that carry face images: never cached, never embeddable by another site, thumbnails on the face."""

from __future__ import annotations

import io

from django.http import HttpResponse
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
