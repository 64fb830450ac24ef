"""LiveSession: one video stream's tracker, per-track identity votes and smoothed emotion.

The naive way (the original's) runs detection, embedding, matching and emotion for every face on every frame.
A LiveSession does less work per frame without losing faces:
- detection runs every `detect_every` frames; the Kalman filters predict the boxes in between;
- a track is recognised when it is new, then only every `recognize_every` frames or when its face has grown
  by `better_face_ratio` (a closer, better view), and its name is the majority of its recognitions, so it
  does not flicker between two people;
- emotion is classified every `emotion_every` frames per track and smoothed with an exponential moving average;
- the faces a detection frame must recognise are cropped then but embedded and matched on the next frame, which
  only predicts (`defer_recognition`): the two halves of the work fall on two frames, not one slow frame.
Matching is not the engine's business: the caller passes a `matcher` that turns embeddings into answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recognition.engine.align import align_face
from recognition.engine.emotion import UNCERTAIN
from recognition.engine.tracker import SortTracker, Track
from recognition.engine.types import EMOTION_LABELS, Detection

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Match:
    """The matcher's answer for one face: a person (id and name) or unknown, with the nearest candidate's
    score and its margin over the second-best person."""

    person_id: int | None
    name: str
    score: float
    margin: float = 0.0

    @property
    def known(self) -> bool:
        return self.person_id is not None


Matcher = Callable[[np.ndarray], list[Match]]  # (N, D) embeddings of one frame -> N answers


@dataclass(frozen=True)
class LiveOptions:
    detect_every: int = 2
    recognize_every: int = 15
    better_face_ratio: float = 1.3
    confirm_votes: float = 1.8  # decayed votes the leading answer needs: two agreeing recognitions in a row
    vote_decay: float = 0.85
    vote_hysteresis: float = 0.5
    emotion_every: int = 3
    emotion_alpha: float = 0.35
    max_age: int = 10
    min_hits: int = 1  # the detectors' precision is high here; a face is shown from its first detection
    iou_threshold: float = 0.3
    defer_recognition: bool = True  # embed + match on the frame after detection (when detect_every > 1)


@dataclass
class TrackResult:
    track_id: int
    box: list[float]
    name: str  # the person's name, "unknown", or "" while the track has not been recognised yet
    person_id: int | None
    score: float
    confirmed: bool
    emotion: str  # an EMOTION_LABELS label, "uncertain", or "" before the first classification
    emotion_confidence: float

    def as_dict(self) -> dict:
        return {
            "track_id": self.track_id, "box": [round(v, 1) for v in self.box], "name": self.name,
            "person_id": self.person_id, "score": round(self.score, 3), "confirmed": self.confirmed,
            "emotion": self.emotion, "emotion_confidence": round(self.emotion_confidence, 3),
        }  # fmt: skip


@dataclass(frozen=True)
class _Pending:
    """Faces cropped on a detection frame, waiting for their embedding and match."""

    frame: np.ndarray
    frame_index: int
    faces: list[tuple[int, Detection]]  # (track id, its detection on that frame)
    aligned: np.ndarray  # (N, 112, 112, 3) crops, in the order of `faces`


_NOBODY = object()  # no recognition yet (distinct from None, which is the "unknown" answer)


@dataclass
class _TrackMemory:
    """A track's recognitions, voted with decay (recent views count more) and hysteresis (the name changes only
    when another answer clearly leads), so the name settles and does not flicker between two people."""

    votes: dict = field(default_factory=dict)  # person_id (None = unknown) -> decayed count of recognitions
    answers: dict = field(default_factory=dict)  # person_id -> latest Match for it
    holder: object = _NOBODY
    last_recognized: int = -(10**9)
    face_px_at_recognition: float = 0.0
    emotion_probs: np.ndarray | None = None
    last_emotion: int = -(10**9)
    announced: bool = False

    def vote(self, match: Match, options: LiveOptions) -> None:
        for key in self.votes:
            self.votes[key] *= options.vote_decay
        self.votes[match.person_id] = self.votes.get(match.person_id, 0.0) + 1.0
        self.answers[match.person_id] = match
        if self.holder is _NOBODY or self.votes[match.person_id] > self.votes[self.holder] + options.vote_hysteresis:
            self.holder = match.person_id

    def identity(self) -> Match | None:
        return None if self.holder is _NOBODY else self.answers[self.holder]

    def confirmed(self, options: LiveOptions) -> bool:
        return self.holder is not _NOBODY and self.votes[self.holder] >= options.confirm_votes


class LiveSession:
    """Feed frames in order with `process(frame)`; each call returns what to draw for that frame."""

    def __init__(
        self,
        analyzer,
        matcher: Matcher,
        options: LiveOptions = LiveOptions(),
        *,
        on_confirmed: Callable[[int, Match, Detection, np.ndarray, str], None] | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.matcher = matcher
        self.options = options
        self.on_confirmed = on_confirmed
        self.tracker = SortTracker(max_age=options.max_age, min_hits=options.min_hits,
                                   iou_threshold=options.iou_threshold)  # fmt: skip
        self.memory: dict[int, _TrackMemory] = {}
        self.pending: _Pending | None = None  # faces cropped on a detection frame, recognised on the next
        self.frame_index = -1
        self.stats = Counter()  # frames, detections, embeddings, emotion_calls: for benchmarks and the page

    def process(self, frame_bgr: np.ndarray) -> list[TrackResult]:
        self.frame_index += 1
        self.stats["frames"] += 1
        if self.frame_index % max(1, self.options.detect_every) == 0:
            detections = self.analyzer.detect(frame_bgr)
            self.stats["detections"] += 1
            tracks = self.tracker.update(np.array([d.box for d in detections]).reshape(-1, 4))
            self.pending = self._faces_to_recognize(frame_bgr, detections)
            if not (self.options.defer_recognition and self.options.detect_every > 1):
                self._recognize(self.pending)
                self.pending = None
            self._classify_emotion(frame_bgr, detections)
        else:
            tracks = self.tracker.predict()
            self._recognize(self.pending)
            self.pending = None
        alive = {t.track_id for t in self.tracker.tracks}
        for track_id in list(self.memory):
            if track_id not in alive:
                del self.memory[track_id]
        return self._results(tracks)

    # --- identity ---------------------------------------------------------------------------------------------
    def _needs_recognition(self, detection: Detection, memory: _TrackMemory) -> bool:
        if not memory.votes:
            return True
        if not memory.confirmed(self.options):
            return True  # keep asking until the votes settle
        if self.frame_index - memory.last_recognized >= self.options.recognize_every:
            return True
        return detection.short_side >= self.options.better_face_ratio * memory.face_px_at_recognition

    def _faces_to_recognize(self, frame: np.ndarray, detections: list[Detection]) -> _Pending | None:
        """The faces of this detection frame whose track needs a recognition, aligned from this frame."""
        todo: list[tuple[int, Detection]] = []
        for track in self.tracker.tracks:
            if track.detection_index is None:
                continue
            detection = detections[track.detection_index]
            memory = self.memory.setdefault(track.track_id, _TrackMemory())
            if self._needs_recognition(detection, memory):
                todo.append((track.track_id, detection))
        if not todo or self.analyzer.embedder is None:
            return None
        aligned = np.stack([align_face(frame, d.kps) for _, d in todo])
        return _Pending(frame=frame, frame_index=self.frame_index, faces=todo, aligned=aligned)

    def _recognize(self, pending: _Pending | None) -> None:
        if pending is None:
            return
        embeddings = self.analyzer.embedder.embed(pending.aligned)
        self.stats["embeddings"] += len(pending.faces)
        for (track_id, detection), match in zip(pending.faces, self.matcher(embeddings), strict=True):
            memory = self.memory.get(track_id)
            if memory is None:
                continue  # the track ended in between
            was_confirmed = memory.confirmed(self.options)
            memory.vote(match, self.options)
            memory.last_recognized = pending.frame_index
            memory.face_px_at_recognition = detection.short_side
            identity = memory.identity()
            if (not was_confirmed and memory.confirmed(self.options) and identity is not None
                    and identity.known and not memory.announced):  # fmt: skip
                memory.announced = True
                if self.on_confirmed is not None:
                    self.on_confirmed(track_id, identity, detection, pending.frame, self._emotion_label(memory)[0])

    # --- emotion ----------------------------------------------------------------------------------------------
    def _classify_emotion(self, frame: np.ndarray, detections: list[Detection]) -> None:
        emotion_model = self.analyzer.emotion
        if emotion_model is None:
            return
        todo = []
        for track in self.tracker.tracks:
            if track.detection_index is None:
                continue
            memory = self.memory.setdefault(track.track_id, _TrackMemory())
            if self.frame_index - memory.last_emotion >= self.options.emotion_every:
                todo.append((track, memory))
        if not todo:
            return
        emotions = emotion_model.classify(frame, [detections[t.detection_index] for t, _ in todo])
        self.stats["emotion_calls"] += 1
        alpha = self.options.emotion_alpha
        for (_, memory), emotion in zip(todo, emotions, strict=True):
            probs = np.array([emotion.probs[label] for label in EMOTION_LABELS], dtype=np.float32)
            memory.emotion_probs = probs if memory.emotion_probs is None else (
                alpha * probs + (1 - alpha) * memory.emotion_probs
            )
            memory.last_emotion = self.frame_index

    def _emotion_label(self, memory: _TrackMemory) -> tuple[str, float]:
        """The smoothed emotion and its confidence; "uncertain" below the emotion classifier's threshold (the
        same one its single-image labels use), "" before any."""
        if memory.emotion_probs is None:
            return "", 0.0
        best = int(np.argmax(memory.emotion_probs))
        confidence = float(memory.emotion_probs[best])
        certain = confidence >= self.analyzer.emotion.uncertain_below
        return (EMOTION_LABELS[best] if certain else UNCERTAIN), confidence

    # --- output -----------------------------------------------------------------------------------------------
    def _results(self, tracks: list[Track]) -> list[TrackResult]:
        results = []
        for track in tracks:
            memory = self.memory.get(track.track_id) or _TrackMemory()
            identity = memory.identity()
            emotion, emotion_confidence = self._emotion_label(memory)
            results.append(
                TrackResult(
                    track_id=track.track_id,
                    box=[float(v) for v in track.box],
                    name="" if identity is None else (identity.name if identity.known else UNKNOWN),
                    person_id=None if identity is None else identity.person_id,
                    score=0.0 if identity is None else identity.score,
                    confirmed=memory.confirmed(self.options),
                    emotion=emotion,
                    emotion_confidence=emotion_confidence,
                )
            )
        return _one_track_per_person(results)


def _one_track_per_person(results: list[TrackResult]) -> list[TrackResult]:
    """Two faces in one frame are never the same person: the weaker claim is shown as unknown."""
    best: dict[int, TrackResult] = {}
    for result in results:
        if result.person_id is None:
            continue
        holder = best.get(result.person_id)
        if holder is None or (result.confirmed, result.score) > (holder.confirmed, holder.score):
            best[result.person_id] = result
    for result in results:
        if result.person_id is not None and best[result.person_id] is not result:
            result.name, result.person_id, result.confirmed = UNKNOWN, None, False
    return results
