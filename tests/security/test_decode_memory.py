"""A 40 MP PNG of a few hundred KB sent to /api/v1/verify/ by a member: refused from its header, memory bounded.

Decoded it would be 120 MB of RGB, another 120 MB of BGR, and more for the detector's resize: about 1 GB per
request at 40 MP. The answer must be the API's JSON 413, with no pixel decoded. Peak memory is measured two
ways while the request runs: Python/numpy allocations (tracemalloc) and the process's resident set (sampled
from /proc by a thread, which also sees Pillow's and OpenCV's C allocations).
"""

from __future__ import annotations

import io
import os
import struct
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.security.conftest import make_user

pytestmark = pytest.mark.django_db
MB = 1024 * 1024
WIDTH, HEIGHT = 8000, 5000  # 40 MP: the old limit, accepted by today's decoder


def big_png(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A valid RGB PNG of width x height, written row by row (zlib streams it: never 120 MB in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    row = b"\x00" + bytes([90, 140, 200]) * width  # filter byte 0, then a flat colour
    packer = zlib.compressobj(9)
    out = io.BytesIO()
    for _ in range(height):
        out.write(packer.compress(row))
    out.write(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", out.getvalue()) + chunk(b"IEND", b"")


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The highest resident set seen while the block runs, sampled every millisecond."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_bytes())
            time.sleep(0.001)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start


def test_a_40_megapixel_png_is_refused_from_its_header_with_bounded_memory(settings) -> None:
    png = big_png()
    assert len(png) < settings.API_MAX_IMAGE_BYTES  # small enough to pass the byte limit: pixels are the risk
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('mia')).key}")

    def post():
        files = {"image_a": _upload("a.png", png), "image_b": _upload("b.png", png)}
        return client.post("/api/v1/verify/", files, format="multipart")

    post()  # warm up (imports, the first database connection) so they do not count as the request's memory
    tracemalloc.start()
    try:
        with PeakRss() as rss:
            response = post()
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 413, response.content[:300]
    body = response.json()
    assert body["error"] == "too_large" and body["status"] == 413
    assert f"{WIDTH}x{HEIGHT}" in body["message"] and str(settings.API_MAX_IMAGE_PIXELS) in body["message"]
    # Two uploads of ~0.1 MB each, parsed and copied a few times; decoding one would add >= 120 MB.
    assert traced_peak < 32 * MB, f"{traced_peak / MB:.0f} MB traced"
    assert rss.growth < 48 * MB, f"resident set grew by {rss.growth / MB:.0f} MB"


def test_the_limit_is_the_setting(settings) -> None:
    settings.API_MAX_IMAGE_PIXELS = 1_000_000
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('max')).key}")
    files = {"image_a": _upload("a.png", big_png(1200, 900)), "image_b": _upload("b.png", big_png(800, 600))}
    refused = client.post("/api/v1/verify/", files, format="multipart")
    assert refused.status_code == 413 and "1200x900" in refused.json()["message"]


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")
