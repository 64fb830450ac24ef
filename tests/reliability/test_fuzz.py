"""Hostile input, generated: image decoding, the API's image reading and the live websocket's message parser.

Hypothesis generates random bytes and mutations of valid images in every accepted format (bytes flipped,
truncated, inserted, header fields overwritten), random content types and file names, and random websocket
messages. The contract under test: decode_image returns a bounded BGR image or raises InvalidImage and nothing
else; the API answers 200/400/413/415 and never 500; the live socket answers every message or closes with a
44xx code, and never goes silent. About 2,500 cases in all; shrinking is off where one case can take seconds.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import struct

import cv2
import numpy as np
import psutil
import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.exceptions import APIException
from rest_framework.test import APIClient

from recognition.api.images import read_image
from recognition.engine.imageio import InvalidImage, decode_image

MAX_PIXELS = 4_000_000
COMMON = dict(database=None, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)


def _seed_images() -> list[bytes]:
    """Small valid images in every format the platform reads, including the awkward modes."""
    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    cv2.circle(bgr, (32, 24), 14, (40, 160, 220), -1)
    rgb = Image.fromarray(bgr[:, :, ::-1].copy())
    seeds = [cv2.imencode(ext, bgr)[1].tobytes() for ext in (".jpg", ".png", ".bmp", ".webp", ".tiff")]

    def pil(img: Image.Image, fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: EXIF orientation is applied
    seeds += [
        pil(rgb, "JPEG", exif=exif.tobytes(), progressive=True),
        pil(rgb.convert("P"), "GIF"),
        pil(rgb.convert("RGBA"), "PNG"),
        pil(rgb.convert("LA"), "PNG"),
        pil(Image.fromarray((rng.integers(0, 65535, (20, 30))).astype(np.uint16)), "PNG"),
        pil(rgb.convert("CMYK"), "JPEG"),
        pil(rgb.convert("1"), "TIFF", compression="group4"),
    ]
    return seeds


SEEDS = _seed_images()


@st.composite
def mutated_images(draw) -> bytes:
    """A valid image with a few random mutations, or sometimes none."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "header", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "header" and data:
            # overwrite 4 bytes near the start, where sizes, depths and chunk lengths live
            at = draw(st.integers(0, min(len(data), 64)))
            data[at : at + 4] = struct.pack(">I", draw(st.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF,
                                                                         0xFFFFFFFF])))  # fmt: skip
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 32))]
    return bytes(data)


hostile_bytes = st.one_of(st.binary(max_size=2048), mutated_images())


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


@pytest.mark.timeout(180)
def test_decode_image_returns_a_bounded_image_or_raises_invalid_image() -> None:
    seen = {"ok": 0, "invalid": 0}
    decode_image(SEEDS[0])  # first-use allocations are not growth
    before = rss()

    @fuzz_settings(max_examples=1500, **COMMON)
    @given(hostile_bytes)
    def check(data: bytes) -> None:
        try:
            image = decode_image(data, max_pixels=MAX_PIXELS)
        except InvalidImage:
            seen["invalid"] += 1
            return
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert 0 < image.shape[0] * image.shape[1] <= MAX_PIXELS
        seen["ok"] += 1

    check()
    growth = rss() - before
    print("decode_image fuzz:", seen)
    assert seen["ok"] > 50 and seen["invalid"] > 50, seen  # both outcomes were really exercised
    assert growth < 200 * 2**20, f"resident memory grew by {growth / 2**20:.0f} MiB over the fuzz run"


CONTENT_TYPES = ["image/jpeg", "image/png", "image/gif", "application/pdf", "text/plain", "", "image/svg+xml",
                 "application/octet-stream", "image/x-evil;\r\nX-Injected: 1"]  # fmt: skip
NAMES = [
    "face.jpg",
    "face.png",
    "x",
    "../../etc/passwd",
    "a.pdf",
    "<script>.gif",
    "'; DROP TABLE x; --.jpg",
    "",
]


@pytest.mark.timeout(120)
def test_the_api_image_reader_maps_every_input_to_an_image_or_a_4xx(settings) -> None:
    settings.API_MAX_IMAGE_BYTES = 1500  # small, so that the 413 path is generated too
    codes: dict[int, int] = {}

    @settings_(max_examples=500)
    @given(hostile_bytes, st.sampled_from(CONTENT_TYPES), st.sampled_from(NAMES))
    def check(data: bytes, content_type: str, name: str) -> None:
        upload = SimpleUploadedFile(name or "upload", data, content_type=content_type)
        try:
            image = read_image(upload)
        except APIException as exc:
            assert exc.status_code in (400, 413, 415), exc
            codes[exc.status_code] = codes.get(exc.status_code, 0) + 1
            return
        assert image.dtype == np.uint8 and image.ndim == 3
        codes[200] = codes.get(200, 0) + 1

    check()
    print("read_image fuzz:", codes)
    assert set(codes) == {200, 400, 413, 415}, codes


def settings_(**kwargs):
    return fuzz_settings(**{**COMMON, **kwargs})


@pytest.fixture
def analyzer_ready():
    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        return face_analyzer()
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"model files not usable here ({exc})")


@pytest.mark.timeout(180)
@pytest.mark.django_db
def test_identify_through_http_never_answers_500(analyzer_ready) -> None:
    from django.contrib.auth.models import Group

    from accounts.roles import OPERATOR_GROUP

    user = get_user_model().objects.create_user("fuzz-operator", password="a-long-test-password")
    user.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    client = APIClient()
    client.force_authenticate(user)

    @settings_(max_examples=120, phases=[Phase.explicit, Phase.generate])
    @given(hostile_bytes, st.sampled_from(CONTENT_TYPES[:4]), st.booleans())
    def check(data: bytes, content_type: str, raw_body: bool) -> None:
        if raw_body:  # the image itself as the body
            response = client.post("/api/v1/identify/", data, content_type=content_type or "image/jpeg")
        else:
            upload = SimpleUploadedFile("face.jpg", data, content_type=content_type)
            response = client.post("/api/v1/identify/", {"image": upload}, format="multipart")
        assert response.status_code in (200, 400, 413, 415), (response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
        codes[response.status_code] = codes.get(response.status_code, 0) + 1

    codes: dict[int, int] = {}
    check()
    print("identify fuzz:", codes)
    assert {200, 400} <= set(codes), codes


# --- the live websocket -----------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
text_messages = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.builds(lambda t: json.dumps({"type": "ping", "t": t}), json_values),
)
frame_id = st.integers(0, 2**32 - 1).map(lambda n: struct.pack(">I", n))
binary_messages = st.one_of(
    st.binary(max_size=256),
    st.builds(lambda i, tail: i + b"\xff\xd8\xff" + tail, frame_id, st.binary(max_size=512)),
    st.builds(
        lambda i, jpeg: i + jpeg, frame_id, mutated_images().filter(lambda d: d[:3] == b"\xff\xd8\xff")
    ),
    st.builds(lambda i: i + SEEDS[0], frame_id),
)
messages = st.lists(st.one_of(text_messages.map(lambda t: ("text", t)),
                              binary_messages.map(lambda b: ("bytes", b))),
                    min_size=1, max_size=3)  # fmt: skip


async def exchange(user, sent: list[tuple[str, object]]) -> tuple[list[dict], dict | None]:
    """Send the messages one at a time, waiting for each one's answer; returns (replies, close message)."""
    from facesite.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost")])
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    replies: list[dict] = []
    closed = None
    try:
        for kind, payload in sent:
            await communicator.send_input({"type": "websocket.receive", kind: payload})  # empty ones too
            message = await communicator.receive_output(timeout=15)  # silence here fails the test: a hang
            if message["type"] == "websocket.close":
                closed = message
                break
            replies.append(json.loads(message["text"]))
    finally:
        await communicator.disconnect()
    return replies, closed


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_the_live_socket_answers_every_message_or_closes_with_a_44xx_code(analyzer_ready) -> None:
    user = get_user_model().objects.create_user("fuzz-kiosk", password="a-long-test-password", is_staff=True)
    outcomes: dict[str, int] = {}

    @settings_(max_examples=300, phases=[Phase.explicit, Phase.generate])
    @given(messages)
    def check(sent: list[tuple[str, object]]) -> None:
        replies, closed = asyncio.run(exchange(user, sent))
        if closed is not None:
            assert 4400 <= closed["code"] < 4500 and closed.get("reason"), closed
            outcomes[str(closed["code"])] = outcomes.get(str(closed["code"]), 0) + 1
        else:
            assert len(replies) == len(sent)
        for reply in replies:
            assert reply["type"] in ("pong", "frame"), reply
            outcomes[reply["type"]] = outcomes.get(reply["type"], 0) + 1

    check()
    print("live socket fuzz:", outcomes)
    assert {"pong", "frame", "4400", "4415"} <= set(outcomes), outcomes
