"""The Django side of live recognition: a LiveSession wired to the gallery and to attendance.

One `LiveStream` per websocket connection (or per CLI video run). It is synchronous: the consumer runs it in a
worker thread so the event loop never waits on inference.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.utils import timezone

from recognition.conf import recognition_settings
from recognition.domain.pack import ModelVersionMismatch
from recognition.engine.live import LiveOptions, LiveSession, Match, Matcher, TrackResult
from recognition.engine.types import Detection
from recognition.models import Person
from recognition.services.matching import identify, pack_policy
from recognition.signals import face_confirmed, send_robustly, unknown_face_lingered

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
    _said_stale: bool = False

    def __call__(self, embeddings: np.ndarray) -> list[Match]:
        now = time.monotonic()
        if self._policy is None or now - self._policy_at > POLICY_REFRESH_S:
            self._policy, self._policy_at = pack_policy(self.pack), now
            self._names.clear()
        try:
            decisions = identify(list(embeddings), model_name=self.model_name, policy=self._policy)
        except ModelVersionMismatch as exc:  # nobody can be named until the gallery is re-embedded
            if not self._said_stale:
                log.warning("live recognition names nobody: %s", exc)
                self._said_stale = True
            return [Match(person_id=None, name="unknown", score=0.0) for _ in embeddings]
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

    return LiveOptions(
        detect_every=recognition_settings().live_detect_every,
        recognize_every=recognition_settings().live_recognize_every,
        defer_recognition=recognition_settings().live_defer_recognition,
    )


@dataclass(frozen=True)
class Sighting:
    """A person a stream confirmed, as told to the apps that record presence (recognition.signals)."""

    person_id: int
    name: str
    source: str
    score: float
    margin: float
    frame_bgr: np.ndarray
    box: np.ndarray
    stream: str
    emotion: str
    device_id: int | None

    def as_signal(self) -> dict:
        """face_confirmed's arguments (the name is for the caller; listeners look people up themselves)."""
        return {
            "person_id": self.person_id, "source": self.source, "score": self.score, "margin": self.margin,
            "frame_bgr": self.frame_bgr, "box": self.box, "stream": self.stream, "emotion": self.emotion,
            "device_id": self.device_id,
        }  # fmt: skip


@dataclass
class _Stranger:
    """A track the gallery could not name: since when, and the thresholds already reported."""

    first_seen: float  # monotonic
    first_seen_at: datetime
    reported: set[float] = field(default_factory=set)


class LiveStream:
    """A LiveSession over the active pack's analyzer and gallery. Confirmed people, and faces that stay unknown,
    are told to the apps that record them (recognition.signals: face_confirmed, unknown_face_lingered)."""

    def __init__(self, *, source: str | None, stream_id: str, options: LiveOptions | None = None,
                 only_person: int | None = None, device_id: int | None = None,
                 hold_confirmations: bool = False) -> None:  # fmt: skip
        """`source` is the attendance source confirmed people are recorded at; None records nothing. With
        `only_person` (a member looking at themselves) only that person is ever named or recorded (OwnFaceOnly).
        `device_id` (a kiosk or camera, opaque here: recognition does not know devices) is passed on to
        attendance with each presence. With `hold_confirmations` a confirmation is kept in `held` until the
        caller `release`s it (a kiosk that first asks for the liveness challenge)."""
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
        self.recorded: list = []  # what listeners recorded since the caller last took them (kiosk feedback)
        self.strangers: dict[int, _Stranger] = {}  # track id -> an unnamed face in front of the stream
        self.hold_confirmations = hold_confirmations
        self.held: list[Sighting] = []  # confirmations waiting for release (hold_confirmations)

    def process(self, frame_bgr: np.ndarray) -> list[TrackResult]:
        tracks = self.session.process(frame_bgr)
        if self.source is not None:
            self._watch_strangers(tracks)
        return tracks

    def _confirmed(self, track_id: int, match: Match, detection: Detection, frame: np.ndarray, emotion: str) -> None:
        self.seen[match.person_id] = match.name
        if self.source is None:
            return
        sighting = Sighting(
            person_id=match.person_id, name=match.name, source=self.source, score=match.score, margin=match.margin,
            frame_bgr=frame, box=detection.box, stream=f"{self.stream_id}/track-{track_id}", emotion=emotion,
            device_id=self.device_id,
        )  # fmt: skip
        if self.hold_confirmations:
            self.held = [*(h for h in self.held if h.person_id != sighting.person_id), sighting][-5:]
        else:
            self.release(sighting)

    def release(self, sighting: Sighting) -> list:
        """Tell the listeners (attendance) of a confirmed person; what they recorded is added to `recorded` and
        returned. A listener's failure is logged, never raised: attendance must not stop recognition."""
        recorded = send_robustly(face_confirmed, **sighting.as_signal())
        self.recorded = [*self.recorded, *recorded][-20:]  # a caller that never takes them keeps the latest
        return recorded

    def _watch_strangers(self, tracks: list[TrackResult]) -> None:
        """Tell listeners of faces the gallery keeps answering "unknown" for, once per threshold crossed."""

        thresholds = sorted({recognition_settings().unknown_face_min_s, recognition_settings().unknown_face_alert_s})
        now = time.monotonic()
        names = {t.track_id: t.name for t in tracks}
        for track_id in list(self.strangers):
            if names.get(track_id) not in ("unknown", ""):  # gone from view, or named after all ("": re-checking)
                del self.strangers[track_id]
        unknown = {t.track_id: t for t in tracks if t.name == "unknown"}
        for track_id, track in unknown.items():
            stranger = self.strangers.setdefault(track_id, _Stranger(now, timezone.now()))
            seen_s = now - stranger.first_seen
            for threshold in thresholds:
                if seen_s >= threshold and threshold not in stranger.reported:
                    stranger.reported.update(t for t in thresholds if t <= seen_s)
                    send_robustly(
                        unknown_face_lingered, source=self.source, stream=f"{self.stream_id}/track-{track_id}",
                        device_id=self.device_id, first_seen_at=stranger.first_seen_at, seen_s=round(seen_s, 1),
                        nearest_score=track.score or None,
                    )  # fmt: skip
                    break


def open_stream(*, stream_id: str, operator: bool, own_person: int | None) -> LiveStream:
    """A kiosk's stream (operators: everyone named, presence recorded from the kiosk) or a member's own page.

    On a member's page only the member is named (OwnFaceOnly). A member's camera can be anywhere, so their page
    records no attendance unless LIVE_MEMBER_ATTENDANCE allows it."""

    if operator:
        return LiveStream(source="kiosk", stream_id=stream_id)
    # None: seen on the page, nothing recorded
    source = "page" if recognition_settings().live_member_attendance else None
    return LiveStream(source=source, stream_id=stream_id, only_person=own_person or 0)


def decode_frame(jpeg: bytes) -> np.ndarray:
    """A live frame's pixels (BGR); raises recognition.engine.imageio.InvalidImage for bytes that do not decode
    or a frame over LIVE_MAX_FRAME_PIXELS."""

    from recognition.engine.imageio import decode_image

    return decode_image(jpeg, max_pixels=recognition_settings().live_max_frame_pixels)


def analyse_jpeg(stream: LiveStream, jpeg: bytes) -> dict:
    """One JPEG frame through a stream: what the page draws, or {"error", "code": 4415} for bytes that look like
    a JPEG but do not decode (the socket closes with that code)."""
    from recognition.engine.imageio import InvalidImage

    try:
        frame = decode_frame(jpeg)
    except InvalidImage as exc:
        return {"error": str(exc), "code": 4415}
    return analyse_frame(stream, frame)


def analyse_frame(stream: LiveStream, frame: np.ndarray) -> dict:
    """One decoded frame through a stream: what the page draws."""
    return {
        "tracks": [track.as_dict() for track in stream.process(frame)],
        "seen": [{"person_id": pid, "name": name} for pid, name in stream.seen.items()],
    }
