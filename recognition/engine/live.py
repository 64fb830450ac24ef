"""LiveSession: one video stream's tracker, per-track identity and smoothed emotion.

The naive way (the original's) runs detection, embedding, matching and emotion for every face on every frame.
A LiveSession does less work per frame without losing faces:
- detection runs every `detect_every` frames; the Kalman filters predict the boxes in between;
- a track is recognised when it is new (until two recognitions agree), then every `recognize_every` frames or
  when its face has grown by `better_face_ratio` (a closer, better view);
- emotion is classified every `emotion_every` frames per track and smoothed with an exponential moving average;
- the faces a detection frame must recognise are cropped then but embedded and matched on the next frame, which
  only predicts (`defer_recognition`): the two halves of the work fall on two frames, not one slow frame.

A name belongs to a face, not to a box position. A tracker associates boxes by overlap, so a new face where a
tracked face was (a cut, one person stepping in front of another, people taking turns at a kiosk) would inherit
the old track and its name. So:
- every frame is compared with the previous one (a 160x90 thumbnail, `scene.FrameChange`): a scene cut ends
  every track at once and detection runs on that frame; an abrupt change under one track's box, or a detection
  whose landmark layout or appearance jumps from the track's previous detection, makes that track a suspect:
  its name is hidden and it is recognised again at once;
- every embedding computed for a track is compared with the identity it shows: a different person, or a face
  no longer similar (the pack's threshold) to the track's own earlier views of that person, ends the identity
  at once; the new answer is shown only as this face's own recognition gives it;
- a name is shown only when this face's own recognition gave it; the track is `confirmed` (and attendance may
  be recorded, once per person and track) when two recognitions of it agree.
Matching is not the engine's business: the caller passes a `matcher` that turns embeddings into answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from recognition.engine.align import align_face, alignment_matrix
from recognition.engine.emotion import UNCERTAIN
from recognition.engine.scene import ChangeOptions, FrameChange
from recognition.engine.tracker import SortTracker, Track
from recognition.engine.types import EMOTION_LABELS, Detection

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Match:
    """The matcher's answer for one face: a person (id and name) or unknown, with the nearest candidate's
    score and its margin over the second-best person. `candidate_id` is the nearest person even when the answer
    is unknown; `threshold` is the score the decision required (the pack's), when the matcher says."""

    person_id: int | None
    name: str
    score: float
    margin: float = 0.0
    candidate_id: int | None = None
    threshold: float | None = None

    @property
    def known(self) -> bool:
        return self.person_id is not None


Matcher = Callable[[np.ndarray], list[Match]]  # (N, D) embeddings of one frame -> N answers


@dataclass(frozen=True)
class LiveOptions:
    detect_every: int = 2
    recognize_every: int = 15
    better_face_ratio: float = 1.3
    confirm_recognitions: int = 2  # agreeing recognitions of a face before its person counts as seen
    same_face_threshold: float = 0.3  # when the matcher gives no threshold: a track's views of one face agree
    max_references: int = 4  # a track's latest embeddings that supported its identity
    emotion_every: int = 3
    emotion_alpha: float = 0.35
    max_age: int = 10
    min_hits: int = 1  # the detectors' precision is high here; a face is shown from its first detection
    iou_threshold: float = 0.3
    defer_recognition: bool = True  # embed + match on the frame after detection (when detect_every > 1)
    # A detection is another face than the track's previous one when its landmark layout (keypoints relative to
    # the box, in box widths) moved further than this, or its 24x24 aligned appearance correlates less.
    max_layout_jump: float = 0.2
    min_appearance_correlation: float = 0.5
    change: ChangeOptions = ChangeOptions()


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


@dataclass
class _TrackMemory:
    """What one track knows of its face: the identity this face's own recognitions gave, and how they agree."""

    identity: Match | None = None  # None: not recognised yet (or hidden as a suspect until recognised again)
    support: int = 0  # agreeing recognitions of `identity` in a row
    references: list[np.ndarray] = field(default_factory=list)  # embeddings that gave `identity` (known only)
    suspect: bool = False  # the face may have changed: hide the name until this face is recognised again
    last_recognized: int = -(10**9)
    face_px_at_recognition: float = 0.0
    layout: np.ndarray | None = None  # keypoints relative to the box, of the last detection
    appearance: np.ndarray | None = None  # normalised 24x24 grey aligned face, of the last detection
    emotion_probs: np.ndarray | None = None
    last_emotion: int = -(10**9)
    announced: set = field(default_factory=set)  # person ids whose sighting this track has reported

    def recognised(self, match: Match, embedding: np.ndarray, options: LiveOptions) -> None:
        """Take a new recognition of this face: it keeps, replaces or ends the identity shown, never decays."""
        held = self.identity
        if held is not None and not held.known and not match.known:
            self.identity, self.support = match, self.support + 1  # still nobody we know
        elif held is not None and held.known and self._agrees(held, match, embedding, options):
            if match.person_id == held.person_id:
                self.identity, self.support = match, self.support + 1
                self.references = (self.references + [embedding])[-options.max_references :]
            # else: an unknown answer for a face still like its earlier views (a worse angle): keep the name
        else:
            if held is not None and held.known:
                self.announced.clear()  # another face now: its person (even one seen here before) is news
            self.identity, self.support = match, 1
            self.references = [embedding] if match.known else []
        self.suspect = False

    def _agrees(self, held: Match, match: Match, embedding: np.ndarray, options: LiveOptions) -> bool:
        """Does this face's new embedding still support the person the track shows?"""
        if match.known:
            return match.person_id == held.person_id
        threshold = match.threshold if match.threshold is not None else options.same_face_threshold
        if match.candidate_id == held.person_id and match.score >= threshold:
            return True  # still that person above the bar, only not clearly enough ahead of another
        similarity = max((float(embedding @ ref) for ref in self.references), default=-1.0)
        return similarity >= threshold

    def confirmed(self, options: LiveOptions) -> bool:
        return self.identity is not None and not self.suspect and self.support >= options.confirm_recognitions

    def shown(self) -> Match | None:
        return None if self.suspect else self.identity


_NONE = _TrackMemory()


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
        self.change = FrameChange(options.change)
        self.memory: dict[int, _TrackMemory] = {}
        self.pending: _Pending | None = None  # faces cropped on a detection frame, recognised on the next
        self.frame_index = -1
        self.next_detection = 0
        self.stats = Counter()  # frames, detections, embeddings, emotion_calls, cuts, suspects: for benches

    def process(self, frame_bgr: np.ndarray) -> list[TrackResult]:
        self.frame_index += 1
        self.stats["frames"] += 1
        if self.change.observe(frame_bgr):
            self._cut()
        else:
            self._watch_regions()
        if self.frame_index >= self.next_detection or self._suspects_waiting():
            self.next_detection = self.frame_index + max(1, self.options.detect_every)
            detections = self.analyzer.detect(frame_bgr)
            self.stats["detections"] += 1
            self._recognize(self.pending)  # a pending crop from the last detection frame is not thrown away
            tracks = self.tracker.update(np.array([d.box for d in detections]).reshape(-1, 4))
            self._check_faces(frame_bgr, detections)
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
        self.change.forget(alive)
        return self._results(tracks)

    # --- the face under a track -------------------------------------------------------------------------------
    def _cut(self) -> None:
        """A new shot: no track, name or pending crop of the old one carries over."""
        self.stats["cuts"] += 1
        self.tracker.end_all()
        self.memory.clear()
        self.pending = None
        self.next_detection = self.frame_index

    def _watch_regions(self) -> None:
        for track in self.tracker.tracks:
            if track.misses <= self.tracker.show_misses and self.change.region_changed(track.box, track.track_id):
                self._suspect(track.track_id)

    def _suspect(self, track_id: int) -> None:
        memory = self.memory.setdefault(track_id, _TrackMemory())
        if not memory.suspect:
            self.stats["suspects"] += 1
        memory.suspect = True

    def _suspects_waiting(self) -> bool:
        """A visible track became a suspect and is not already waiting for its recognition: detect now."""
        waiting = {track_id for track_id, _ in self.pending.faces} if self.pending is not None else set()
        return any(
            track.misses == 0 and track.track_id not in waiting and self.memory.get(track.track_id, _NONE).suspect
            for track in self.tracker.tracks
        )

    def _check_faces(self, frame: np.ndarray, detections: list[Detection]) -> None:
        """Compare each matched detection with its track's previous one: a jump in landmark layout or
        appearance is another face, whatever the boxes' overlap says."""
        for track in self.tracker.tracks:
            if track.detection_index is None:
                continue
            detection = detections[track.detection_index]
            memory = self.memory.setdefault(track.track_id, _TrackMemory())
            layout, appearance = _layout(detection), _appearance(frame, detection)
            if memory.layout is not None and (
                float(np.linalg.norm(layout - memory.layout)) > self.options.max_layout_jump
                or float(appearance @ memory.appearance) < self.options.min_appearance_correlation
            ):
                self._suspect(track.track_id)
            memory.layout, memory.appearance = layout, appearance

    # --- identity ---------------------------------------------------------------------------------------------
    def _needs_recognition(self, detection: Detection, memory: _TrackMemory) -> bool:
        if memory.identity is None or memory.suspect or not memory.confirmed(self.options):
            return True  # new, suspect, or not yet two agreeing recognitions
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
        matches = self.matcher(embeddings)
        for (track_id, detection), embedding, match in zip(pending.faces, embeddings, matches, strict=True):
            memory = self.memory.get(track_id)
            if memory is None:
                continue  # the track ended in between (or a cut ended every track)
            memory.recognised(match, np.asarray(embedding, dtype=np.float32), self.options)
            memory.last_recognized = pending.frame_index
            memory.face_px_at_recognition = detection.short_side
            identity = memory.identity
            if memory.confirmed(self.options) and identity.known and identity.person_id not in memory.announced:
                memory.announced.add(identity.person_id)
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
            identity = memory.shown()
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


def _layout(detection: Detection) -> np.ndarray:
    """The five keypoints relative to the box, in box widths: another face in the same box moves them."""
    width = max(detection.width, 1.0)
    return ((np.asarray(detection.kps, dtype=np.float32) - detection.box[:2]) / width).ravel()


def _appearance(frame: np.ndarray, detection: Detection, size: int = 24) -> np.ndarray:
    """The face aligned straight to a tiny grey patch, zero-mean and unit-norm (so lighting shifts cancel)."""
    patch = cv2.warpAffine(frame, alignment_matrix(detection.kps, size), (size, size), flags=cv2.INTER_AREA)
    grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32).ravel()
    grey -= grey.mean()
    return grey / max(float(np.linalg.norm(grey)), 1e-6)


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
