"""decode_image on good, odd and hostile input."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from recognition.engine.imageio import InvalidImage, decode_image


def encode(array: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, array)
    assert ok
    return buf.tobytes()


def pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height that compresses to a few KB (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decodes_a_jpeg_to_bgr(astronaut):
    out = decode_image(encode(astronaut, ".jpg"))
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - astronaut).mean() < 5  # JPEG loss only; channel order kept


def test_accepts_a_path(tmp_path, astronaut):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), astronaut)
    assert np.array_equal(decode_image(path), astronaut)
    with pytest.raises(InvalidImage, match="cannot read"):
        decode_image(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "data", [b"", b"hello, this is not an image\n" * 20, b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_not_an_image(data):
    with pytest.raises(InvalidImage):
        decode_image(data)


def test_truncated_jpeg(astronaut):
    data = encode(astronaut, ".jpg")
    with pytest.raises(InvalidImage, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2])


def test_one_pixel_image_decodes_and_has_no_face(scrfd):
    out = decode_image(encode(np.full((1, 1, 3), 90, np.uint8)))
    assert out.shape == (1, 1, 3)
    assert scrfd.detect(out) == []


@pytest.mark.parametrize("width,height", [(20000, 20000), (8000, 6000)])
def test_decompression_bomb_is_refused_from_the_header(monkeypatch, width, height):
    # 20000x20000 also trips Pillow's own guard; 8000x6000 (48 Mpx) only the 40 Mpx default of decode_image.
    data = huge_png(width, height)
    assert len(data) < 200_000
    assert struct.unpack(">II", data[16:24]) == (width, height)  # a real, valid PNG header

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InvalidImage, match="too large"):
        decode_image(data)


def test_max_pixels_is_configurable():
    data = encode(np.zeros((100, 100, 3), np.uint8))
    assert decode_image(data, max_pixels=10_000).shape == (100, 100, 3)
    with pytest.raises(InvalidImage, match="10000 pixels exceeds the limit of 9999"):
        decode_image(data, max_pixels=9_999)


def test_grayscale_becomes_three_equal_channels(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    out = decode_image(encode(gray))
    assert out.shape == (*gray.shape, 3)
    assert np.array_equal(out[:, :, 0], gray) and np.array_equal(out[:, :, 2], gray)


def test_rgba_keeps_colour_order_and_shows_transparency_as_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 255  # opaque pure red
    rgba[0, 0] = (0, 0, 0, 0)  # fully transparent
    out = decode_image(pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out.shape == (4, 4, 3)
    assert out[1, 1].tolist() == [0, 0, 255]  # BGR
    assert out[0, 0].tolist() == [255, 255, 255]


def test_sixteen_bit_png_gray_and_colour():
    gray16 = np.array([[0, 32896, 65535]], np.uint16)
    assert decode_image(encode(gray16))[0, :, 0].tolist() == [0, 128, 255]
    colour16 = np.zeros((2, 2, 3), np.uint16)
    colour16[..., 2] = 65535  # BGR: full red
    colour16[..., 1] = 32896  # half green
    out = decode_image(encode(colour16))
    assert out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 128, 255]


def test_cmyk_and_palette_images():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255  # green
    cmyk = pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    assert np.abs(decode_image(cmyk)[4, 4].astype(int) - [0, 255, 0]).max() < 10
    palette = pil_bytes(Image.fromarray(rgb).convert("P"), "GIF")
    assert decode_image(palette)[0, 0].tolist() == [0, 255, 0]


# EXIF orientation: the stored pixels are turned, the tag says how to turn them back upright.
ORIENTATIONS = {
    3: cv2.ROTATE_180,  # stored upside down
    6: cv2.ROTATE_90_COUNTERCLOCKWISE,  # display by rotating 90 degrees clockwise
    8: cv2.ROTATE_90_CLOCKWISE,  # display by rotating 90 degrees counter-clockwise
}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_exif_rotated_photo_is_shown_upright(orientation, faces_data, scrfd):
    upright = cv2.imread(str(faces_data / "identities" / "facerec_obama" / "1.jpg"))
    stored = cv2.rotate(upright, ORIENTATIONS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = pil_bytes(Image.fromarray(stored[:, :, ::-1]), "JPEG", quality=95, exif=exif)
    out = decode_image(data)
    assert out.shape == upright.shape
    assert np.abs(out.astype(int) - upright).mean() < 6
    faces, faces_upright = scrfd.detect(out), scrfd.detect(upright)
    assert len(faces) == len(faces_upright) >= 1
    kps = faces[0].kps
    assert kps[:2, 1].max() < kps[3:, 1].min()  # eyes above the mouth
    assert kps[0, 0] < kps[1, 0]
