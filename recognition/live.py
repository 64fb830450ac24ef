"""The Django side of live recognition: a LiveSession wired to the gallery and to attendance.

One `LiveStream` per websocket connection (or per CLI video run). It is synchronous: the consumer runs it in a
worker thread so the event loop never waits on inference.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from recognition.engine.live import LiveOptions, LiveSession, Match, Matcher, TrackResult
from recognition.engine.types import Detection

log = logging.getLogger("recognition.live")

POLICY_REFRESH_S = 30.0  # a threshold changed by calibration reaches running streams within this time


@dataclass
class GalleryMatcher:
    """Turns one frame's embeddings into answers from the enrolled gallery (one identity per frame)."""

    pack: str
    model_name: str
    _policy: object = None
    _policy_at: float = 0.0
    _names: dict[int, str] = field(default_factory=dict)

    def __call__(self, embeddings: np.ndarray) -> list[Match]:
        from recognition.models import Person
        from recognition.services.matching import identify, pack_policy

        now = time.monotonic()
        if self._policy is None or now - self._policy_at > POLICY_REFRESH_S:
            self._policy, self._policy_at = pack_policy(self.pack), now
            self._names.clear()
        decisions = identify(list(embeddings), model_name=self.model_name, policy=self._policy)
        missing = {d.person_id for d in decisions if d.person_id is not None} - set(self._names)
        if missing:
            self._names.update(Person.objects.filter(pk__in=missing).values_list("pk", "display_name"))
        return [
            Match(person_id=d.person_id, name=self._names.get(d.person_id, "unknown") if d.known else "unknown",
                  score=d.score, margin=d.margin, candidate_id=d.candidate_id,
                  threshold=self._policy.threshold)  # fmt: skip
            for d in decisions
        ]


@dataclass(frozen=True)
class OwnFaceOnly:
    """A member's own page: only the member is ever named; every other face is "unknown" with no score, whether
    or not it is enrolled (an answer that differed would tell the member who else is enrolled)."""

    gallery: Matcher
    person_id: int

    def __call__(self, embeddings: np.ndarray) -> list[Match]:
        nobody = Match(person_id=None, name="unknown", score=0.0)
        return [m if m.person_id == self.person_id else nobody for m in self.gallery(embeddings)]


def live_options() -> LiveOptions:
    from django.conf import settings

    return LiveOptions(
        detect_every=settings.LIVE_DETECT_EVERY,
        recognize_every=settings.LIVE_RECOGNIZE_EVERY,
        defer_recognition=settings.LIVE_DEFER_RECOGNITION,
    )


class LiveStream:
    """A LiveSession over the active pack's analyzer and gallery; confirmed people become presence events."""

    def __init__(self, *, source: str | None, stream_id: str, options: LiveOptions | None = None,
                 only_person: int | None = None, device_id: int | None = None) -> None:  # fmt: skip
        """`source` is the attendance source confirmed people are recorded at; None records nothing. With
        `only_person` (a member looking at themselves) only that person is ever named or recorded (OwnFaceOnly).
        `device_id` (a kiosk or camera, opaque here: recognition does not know devices) is passed on to
        attendance with each presence."""
        from recognition import inference

        pack = inference.active_pack().name
        analyzer = inference.face_analyzer(pack, video=True)
        self.source = source
        self.stream_id = stream_id
        matcher: Matcher = GalleryMatcher(pack=pack, model_name=analyzer.embedder.name)
        if only_person is not None:
            matcher = OwnFaceOnly(matcher, only_person)
        self.session = LiveSession(analyzer, matcher, options or live_options(), on_confirmed=self._confirmed)
        self.seen: dict[int, str] = {}  # person id -> name, everyone recognised during this stream
        self.device_id = device_id
        self.recorded: list = []  # attendance events recorded since the caller last took them (kiosk feedback)

    def process(self, frame_bgr: np.ndarray) -> list[TrackResult]:
        return self.session.process(frame_bgr)

    def _confirmed(self, track_id: int, match: Match, detection: Detection, frame: np.ndarray, emotion: str) -> None:
        self.seen[match.person_id] = match.name
        if self.source is None:
            return
        from attendance.services import record_presence

        try:
            event = record_presence(
                person_id=match.person_id, source=self.source, score=match.score, margin=match.margin,
                frame_bgr=frame, box=detection.box, stream=f"{self.stream_id}/track-{track_id}", emotion=emotion,
                device_id=self.device_id,
            )  # fmt: skip
            if event is not None:
                self.recorded.append(event)
                del self.recorded[:-20]  # a caller that never takes them keeps only the latest
        except Exception:  # attendance must never stop recognition
            log.exception("could not record the presence of person %s", match.person_id)


def open_stream(*, stream_id: str, operator: bool, own_person: int | None) -> LiveStream:
    """A kiosk's stream (operators: everyone named, presence recorded from the kiosk) or a member's own page.

    On a member's page only the member is named (OwnFaceOnly). A member's camera can be anywhere, so their page
    records no attendance unless LIVE_MEMBER_ATTENDANCE allows it."""
    from django.conf import settings

    if operator:
        return LiveStream(source="kiosk", stream_id=stream_id)
    source = "page" if settings.LIVE_MEMBER_ATTENDANCE else None  # None: seen on the page, nothing recorded
    return LiveStream(source=source, stream_id=stream_id, only_person=own_person or 0)


def analyse_jpeg(stream: LiveStream, jpeg: bytes) -> dict:
    """One JPEG frame through a stream: what the page draws, or {"error", "code": 4415} for bytes that look like
    a JPEG but do not decode (the socket closes with that code)."""
    from django.conf import settings

    from recognition.engine.imageio import InvalidImage, decode_image

    try:
        frame = decode_image(jpeg, max_pixels=settings.LIVE_MAX_FRAME_PIXELS)
    except InvalidImage as exc:
        return {"error": str(exc), "code": 4415}
    return {
        "tracks": [track.as_dict() for track in stream.process(frame)],
        "seen": [{"person_id": pid, "name": name} for pid, name in stream.seen.items()],
    }
