"""Liveness for every entry point: the product's detector on each frame, the pure challenge checker on the
keypoints (recognition.domain.liveness), the thresholds from settings.

    from recognition import liveness
    challenge = liveness.new_challenge()                       # server-picked, random order
    session = liveness.LivenessSession.start(challenge)        # or .from_state(dict) between requests
    verdict = session.offer(frame_bgr, t=time.monotonic())    # PENDING until it decides; then sticky
    state = session.to_state()                                 # a small dict (JSON types) to keep server-side

    verdict = liveness.check_frames(frames, challenge)         # (t, frame) pairs of a file or a recorded clip

Sign-up and the profile's webcam capture (accounts/capture.py) use LivenessSession, `manage.py check_liveness`
and `python -m bench liveness` use check_frames; a kiosk consumer holds one LivenessSession per person at the
kiosk (its state in the consumer, or in the cache/session when frames arrive as separate requests), shows
`instruction(session.current)` and acts only on `verdict.live`. Frames are BGR uint8 arrays, as decoded by
recognition.engine.imageio or OpenCV; timestamps are seconds on any increasing clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from recognition.conf import recognition_settings
from recognition.domain.liveness import (
    ChallengeStep,
    LivenessChecker,
    LivenessPolicy,
    Observation,
    Verdict,
    person_words,
    random_challenge,
)


def policy() -> LivenessPolicy:
    """The checker's thresholds with the settings' time limit."""
    return LivenessPolicy(timeout_s=float(recognition_settings().liveness_timeout_s))


def new_challenge(length: int | None = None) -> tuple[ChallengeStep, ...]:
    return random_challenge(length or recognition_settings().liveness_steps)


def instruction(step: ChallengeStep | None) -> str:
    """What the page says for a step (frames from a browser camera are unmirrored: see person_words)."""
    if step is None:
        return "Thank you"
    words = person_words(step)
    return words[0].upper() + words[1:] + ", then back"


def observe_faces(t: float, detections: Sequence) -> Observation:
    """An observation from the engine's detections (anything with .kps and .box)."""
    return Observation.of(t, [(np.asarray(d.kps), np.asarray(d.box)) for d in detections])


def detect(frame_bgr: np.ndarray, analyzer=None) -> list:
    """The faces of one frame (detection and keypoints only: no embedding), with the product's detector."""
    if analyzer is None:
        from recognition.inference import face_analyzer

        analyzer = face_analyzer(video=True)
    return analyzer.detect(frame_bgr)


class LivenessSession:
    """One challenge being done in front of a camera."""

    def __init__(self, checker: LivenessChecker) -> None:
        self.checker = checker

    @classmethod
    def start(cls, challenge: Sequence[ChallengeStep] | None = None) -> LivenessSession:
        return cls(LivenessChecker(challenge or new_challenge(), policy()))

    @classmethod
    def from_state(cls, state: dict) -> LivenessSession:
        return cls(LivenessChecker.from_state(state, policy()))

    def to_state(self) -> dict:
        return self.checker.to_state()

    @property
    def challenge(self) -> tuple[ChallengeStep, ...]:
        return self.checker.challenge

    @property
    def current(self) -> ChallengeStep | None:
        return self.checker.current

    def verdict(self, t: float | None = None) -> Verdict:
        return self.checker.verdict(t)

    def offer(self, frame_bgr: np.ndarray, t: float, analyzer=None) -> Verdict:
        return self.offer_faces(detect(frame_bgr, analyzer), t)

    def offer_faces(self, detections: Sequence, t: float) -> Verdict:
        """For a caller that has already run the detector on the frame (e.g. a full analysis)."""
        return self.checker.observe(observe_faces(t, detections))


def check_frames(
    frames: Iterable[tuple[float, np.ndarray]],
    challenge: Sequence[ChallengeStep],
    *,
    analyzer=None,
    policy_: LivenessPolicy | None = None,
) -> Verdict:
    """The verdict on a finished clip: (t, frame) pairs in time order; stops decoding at the decision."""
    checker = LivenessChecker(challenge, policy_ or policy())
    last = None
    for t, frame in frames:
        last = t
        if checker.observe(observe_faces(t, detect(frame, analyzer))).decided:
            break
    return checker.finish(last)
