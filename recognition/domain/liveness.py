"""Liveness as an active challenge: the server picks head movements in a random order, and a checker fed one
observation per frame decides whether a live head did them, in that order, within a time limit.

What it checks, frame by frame (one face per frame, its 5 keypoints and box):
- the steps, in order: each is a head pose change from the pose of the first near-frontal frame (the
  reference), held for a couple of frames; a clear move in a direction the challenge does not ask for now
  (other than the step just done) fails it, so a recording of the moves in another order does not pass;
- temporal continuity: a slideshow of stills holds a pose, then jumps to another one from one frame to the
  next and holds that (a live head keeps moving on its way); switching photos also jumps the face's framing
  (size, position) faster than a person moves; the face may not vanish for long; too few frames per second
  cannot show continuity and are refused;
- depth: a flat photo moved, tilted or warped in front of the camera changes its 5 points by one plane
  projection, so at each step the nose must leave the plane of the eyes and mouth corners (see
  head_pose.off_plane).

Directions are in IMAGE terms of the frames the checker sees (TURN_LEFT: the nose moves toward the image's
left). An unmirrored camera frame shows the person's own right on the image's left, so TURN_LEFT asks the
person to turn to their own right; wording for people is made at the edge (see `person_words`). A mirrored
source (a selfie preview recorded as is) swaps them.

What it does NOT stop: a video of the person on a screen that follows the challenge (live re-enactment or a
deepfake), and 3D masks or heads: they move like heads.
"""

from __future__ import annotations

import enum
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recognition.domain.head_pose import (
    HeadPose,
    as_keypoints,
    eye_distance,
    foreshortening,
    head_pose,
    off_plane,
)


class ChallengeStep(enum.Enum):
    TURN_LEFT = "turn_left"  # nose toward the image's left (yaw decreases)
    TURN_RIGHT = "turn_right"  # nose toward the image's right (yaw increases)
    LOOK_UP = "look_up"  # chin up (pitch increases)
    LOOK_DOWN = "look_down"  # chin down (pitch decreases)

    @property
    def axis(self) -> str:
        return "yaw" if self in (ChallengeStep.TURN_LEFT, ChallengeStep.TURN_RIGHT) else "pitch"

    @property
    def sign(self) -> int:
        return 1 if self in (ChallengeStep.TURN_RIGHT, ChallengeStep.LOOK_UP) else -1

    @property
    def mirrored(self) -> ChallengeStep:
        """The same movement seen in a horizontally flipped image."""
        swap = {ChallengeStep.TURN_LEFT: ChallengeStep.TURN_RIGHT, ChallengeStep.TURN_RIGHT: ChallengeStep.TURN_LEFT}
        return swap.get(self, self)


def person_words(step: ChallengeStep) -> str:
    """What the person in front of an unmirrored camera does for `step`, in their own terms."""
    return {
        ChallengeStep.TURN_LEFT: "turn your head to your right",
        ChallengeStep.TURN_RIGHT: "turn your head to your left",
        ChallengeStep.LOOK_UP: "tilt your chin up",
        ChallengeStep.LOOK_DOWN: "tilt your chin down",
    }[step]


def parse_challenge(text: str) -> tuple[ChallengeStep, ...]:
    """'turn_left,turn_right' -> steps; ValueError names an unknown word or an empty challenge."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        raise ValueError("the challenge is empty")
    known = {step.value: step for step in ChallengeStep}
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"unknown challenge step {unknown[0]!r}; known: {', '.join(known)}")
    return tuple(known[w] for w in words)


def random_challenge(length: int = 2, rng: random.Random | None = None) -> tuple[ChallengeStep, ...]:
    """`length` different steps in a random order, drawn from the OS's randomness (the client cannot predict
    them). Two yaw steps are never both missing: at least one turn is asked for, since yaw is the estimate the
    5 keypoints measure best."""
    if not 1 <= length <= len(ChallengeStep):
        raise ValueError(f"a challenge has 1 to {len(ChallengeStep)} steps")
    rng = rng or secrets.SystemRandom()
    while True:
        steps = tuple(rng.sample(list(ChallengeStep), length))
        if any(step.axis == "yaw" for step in steps):
            return steps


@dataclass(frozen=True)
class LivenessPolicy:
    """The thresholds, in one place (degrees, seconds, fractions of a face). Measured on the real head-turn
    videos in shared/data (see bench/liveness.py and bench/RESULTS.md)."""

    timeout_s: float = 20.0  # from the first observation to the last step
    yaw_step_deg: float = 12.0  # a turn: yaw this far from the reference pose
    pitch_step_deg: float = 12.0  # a look up/down: pitch this far from the reference pose
    hold_frames: int = 2  # consecutive frames past the threshold complete a step
    wrong_factor: float = 1.5  # a move this many thresholds in a direction not asked for now fails
    neutral_yaw_deg: float = 15.0  # the reference frame must be this close to frontal
    max_gap_s: float = 0.7  # the face may vanish (no face, or a missed detection) at most this long
    min_fps: float = 4.0  # fewer face frames per second than this cannot show continuity
    min_frames: int = 6
    # Slideshow: the pose holds (within plateau_deg over plateau_frames frames), jumps by more than jump_deg
    # from one frame to the next, and holds again.
    jump_deg: float = 10.0
    plateau_deg: float = 2.5
    plateau_frames: int = 2
    # Framing: between consecutive frames the face's size (log ratio) and centre (in face sizes) may change by
    # at most base + rate * seconds between the frames.
    scale_jump_base: float = 0.08
    scale_jump_rate: float = 1.0
    shift_jump_base: float = 0.12
    shift_jump_rate: float = 2.5
    # Depth: at each step the nose must leave the eye/mouth plane by this many eye distances (median over the
    # step's frames); a flat photo stays near 0 (detector noise).
    min_off_plane: float = 0.06
    # Depth, second part: the face may foreshorten (head_pose.foreshortening) at most slope * the pose change
    # + margin degrees (median over the step's frames). Over the real head-turn videos, turns of 12-25 degrees
    # foreshortened at most 5.7 degrees more than the turn; flat and bent photos tilted to show such a turn,
    # 9.9 or more (bench/RESULTS.md). Looks up/down do not separate so (real heads foreshorten a lot there):
    # only gross cases are refused, and every challenge has a turn (random_challenge).
    max_foreshortening_yaw: tuple[float, float] = (1.0, 8.0)
    max_foreshortening_pitch: tuple[float, float] = (1.3, 14.0)

    def threshold(self, step: ChallengeStep) -> float:
        return self.yaw_step_deg if step.axis == "yaw" else self.pitch_step_deg

    def foreshortening_allowed(self, step: ChallengeStep, change_deg: float) -> float:
        slope, margin = self.max_foreshortening_yaw if step.axis == "yaw" else self.max_foreshortening_pitch
        return slope * abs(change_deg) + margin


class Status(enum.Enum):
    PENDING = "pending"
    LIVE = "live"
    NOT_LIVE = "not_live"


class Reason(enum.Enum):
    TIMEOUT = "timeout"  # the steps were not done within the time limit
    INCOMPLETE = "incomplete"  # the input ended before every step was done
    WRONG_ORDER = "wrong_order"  # a clear move in a direction not asked for now
    POSE_JUMP = "pose_jump"  # the pose held, jumped between two frames and held again: a slideshow
    FRAMING_JUMP = "framing_jump"  # the face's size or position jumped between two frames: a slideshow
    FLAT = "flat"  # the landmarks moved like one plane: a photo moved or tilted
    NO_FACE = "no_face"  # no face at all
    FACE_LOST = "face_lost"  # the face vanished for longer than allowed
    SEVERAL_FACES = "several_faces"
    TOO_FEW_FRAMES = "too_few_frames"  # too few frames, or too few per second, to show continuity
    NO_FRONTAL_START = "no_frontal_start"  # never faced the camera to begin with


@dataclass(frozen=True)
class FaceLandmarks:
    kps: np.ndarray  # (5, 2), detector order
    box: np.ndarray  # x1, y1, x2, y2

    @classmethod
    def of(cls, kps, box) -> FaceLandmarks:
        return cls(as_keypoints(kps), np.asarray(box, dtype=np.float64).reshape(4))


@dataclass(frozen=True)
class Observation:
    """One frame: when it was taken (seconds, any origin, increasing) and every face found in it."""

    t: float
    faces: tuple[FaceLandmarks, ...]

    @classmethod
    def of(cls, t: float, faces: Sequence[tuple]) -> Observation:
        """From (kps, box) pairs."""
        return cls(float(t), tuple(FaceLandmarks.of(k, b) for k, b in faces))


@dataclass(frozen=True)
class StepResult:
    step: ChallengeStep
    at_s: float  # seconds from the first observation to the frame that completed it
    took_s: float  # seconds since the previous step (or the reference frame)
    peak_deg: float  # the largest pose change toward it, from the reference
    off_plane: float  # median over its frames, in eye distances
    foreshortening_excess: float = 0.0  # median degrees over what a head allows (<= 0 passes)


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: Reason | None = None
    steps: tuple[StepResult, ...] = ()
    elapsed_s: float = 0.0
    frames: int = 0  # observations with one face
    detail: dict = field(default_factory=dict)  # the figures behind a refusal (plain numbers)

    @property
    def live(self) -> bool:
        return self.status is Status.LIVE

    @property
    def decided(self) -> bool:
        return self.status is not Status.PENDING

    def as_dict(self) -> dict:
        """Plain JSON-able figures (codes, not sentences)."""
        return {
            "live": self.live,
            "status": self.status.value,
            "reason": self.reason.value if self.reason else None,
            "elapsed_s": round(self.elapsed_s, 3),
            "frames": self.frames,
            "steps": [{"step": s.step.value, "at_s": round(s.at_s, 3), "took_s": round(s.took_s, 3),
                       "peak_deg": round(s.peak_deg, 1), "off_plane": round(s.off_plane, 3),
                       "foreshortening_excess": round(s.foreshortening_excess, 1)}
                      for s in self.steps],  # fmt: skip
            "detail": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.detail.items()},
        }


@dataclass
class _Frame:
    t: float
    pose: HeadPose
    face: FaceLandmarks


class LivenessChecker:
    """Feed `observe()` one observation per frame, in time order; it answers PENDING until it decides, then
    the same decision for ever. `finish()` says what an input that ended (a file) comes to."""

    def __init__(self, challenge: Sequence[ChallengeStep], policy: LivenessPolicy | None = None) -> None:
        if not challenge:
            raise ValueError("a challenge needs at least one step")
        self.challenge = tuple(challenge)
        self.policy = policy or LivenessPolicy()
        self.start: float | None = None
        self.reference: _Frame | None = None
        self.recent: list[_Frame] = []  # the last few one-face frames (for continuity)
        self.frames = 0
        self.done: list[StepResult] = []
        self._run: list[tuple[float, float]] = []  # the current step's frames past its threshold: (delta, off-plane)
        self._peak = 0.0
        self._last_step_at = 0.0
        self._verdict: Verdict | None = None
        self._faces_seen = 0  # one-face frames, before the reference too
        self._baseline: dict[ChallengeStep, float] | None = None
        self._moved_at: float | None = None  # when the landmarks last changed (a stalled source repeats frames)

    # -- the decision ------------------------------------------------------------------------------------
    @property
    def current(self) -> ChallengeStep | None:
        return self.challenge[len(self.done)] if len(self.done) < len(self.challenge) else None

    def verdict(self, now: float | None = None) -> Verdict:
        if self._verdict is not None:
            return self._verdict
        return Verdict(Status.PENDING, None, tuple(self.done), self._elapsed(now), self.frames)

    def observe(self, observation: Observation) -> Verdict:
        if self._verdict is not None:
            return self._verdict
        t = observation.t
        if self.start is None:
            self.start = t
        if t - self.start > self.policy.timeout_s:
            return self._fail(Reason.TIMEOUT if self.reference else self._why_no_start(), t)
        faces = observation.faces
        if len(faces) > 1:
            return self._fail(Reason.SEVERAL_FACES, t, faces=len(faces))
        if not faces:
            last = self.recent[-1].t if self.recent else None
            if self.reference is not None and last is not None and t - last > self.policy.max_gap_s:
                return self._fail(Reason.FACE_LOST, t, gap_s=t - last)
            return self.verdict(t)
        frame = _Frame(t, head_pose(faces[0].kps), faces[0])
        self._faces_seen += 1
        if self.reference is None:
            if abs(frame.pose.yaw) <= self.policy.neutral_yaw_deg and eye_distance(frame.face.kps) > 1e-3:
                self.reference = frame
                self._last_step_at = self._moved_at = t
                self.recent = [frame]
                self.frames = 1
            return self.verdict(t)
        refusal = self._continuity(frame)
        self.recent = (self.recent + [frame])[-(2 * self.policy.plateau_frames + 1):]
        self.frames += 1
        if refusal is not None:
            reason, detail = refusal
            return self._fail(reason, t, **detail)
        return self._steps(frame)

    def finish(self, t: float | None = None) -> Verdict:
        """The input ended: a pending check becomes INCOMPLETE (or NO_FACE / NO_FRONTAL_START)."""
        if self._verdict is None:
            end = t if t is not None else (self.recent[-1].t if self.recent else self.start or 0.0)
            reason = Reason.INCOMPLETE if self.reference is not None else self._why_no_start()
            self._fail(reason, end)
        return self._verdict

    # -- a small state a web session can keep between frames (plain JSON types) -------------------------------
    def to_state(self) -> dict:
        def frame(f: _Frame | None) -> list | None:
            return None if f is None else [round(f.t, 4), _rounded(f.face.kps), _rounded(f.face.box)]

        verdict = self._verdict
        return {
            "challenge": [step.value for step in self.challenge],
            "start": self.start,
            "reference": frame(self.reference),
            "recent": [frame(f) for f in self.recent],
            "frames": self.frames,
            "seen": self._faces_seen,
            "done": [[r.step.value, r.at_s, r.took_s, r.peak_deg, r.off_plane, r.foreshortening_excess]
                     for r in self.done],  # fmt: skip
            "run": [list(pair) for pair in self._run],
            "peak": self._peak,
            "last_step_at": self._last_step_at,
            "baseline": None if self._baseline is None else {d.value: v for d, v in self._baseline.items()},
            "moved_at": self._moved_at,
            "verdict": None if verdict is None else [verdict.status.value, verdict.reason.value if verdict.reason
                                                     else None, verdict.elapsed_s, verdict.detail],  # fmt: skip
        }

    @classmethod
    def from_state(cls, state: dict, policy: LivenessPolicy | None = None) -> LivenessChecker:
        checker = cls([ChallengeStep(v) for v in state["challenge"]], policy)

        def frame(raw: list | None) -> _Frame | None:
            if raw is None:
                return None
            face = FaceLandmarks.of(raw[1], raw[2])
            return _Frame(float(raw[0]), head_pose(face.kps), face)

        checker.start = state["start"]
        checker.reference = frame(state["reference"])
        checker.recent = [frame(f) for f in state["recent"]]
        checker.frames, checker._faces_seen = int(state["frames"]), int(state["seen"])
        checker.done = [StepResult(ChallengeStep(s), *map(float, rest)) for s, *rest in state["done"]]
        checker._run = [(float(a), float(b)) for a, b in state["run"]]
        checker._peak, checker._last_step_at = float(state["peak"]), float(state["last_step_at"])
        baseline = state["baseline"]
        checker._baseline = None if baseline is None else {ChallengeStep(k): v for k, v in baseline.items()}
        checker._moved_at = state["moved_at"]
        if state["verdict"] is not None:
            status, reason, elapsed, detail = state["verdict"]
            checker._verdict = Verdict(Status(status), Reason(reason) if reason else None, tuple(checker.done),
                                       float(elapsed), checker.frames, dict(detail))  # fmt: skip
        return checker

    # -- the rules ---------------------------------------------------------------------------------------
    def _continuity(self, frame: _Frame) -> tuple[Reason, dict] | None:
        p = self.policy
        prev = self.recent[-1]
        dt = frame.t - prev.t
        if dt > p.max_gap_s:
            return Reason.FACE_LOST, {"gap_s": dt}
        if not np.array_equal(frame.face.kps, prev.face.kps):
            # A camera or file that stalls repeats a frame; the face then moves over the whole stall.
            dt = frame.t - (self._moved_at if self._moved_at is not None else prev.t)
            self._moved_at = frame.t
        size_prev, size = _size(prev.face.box), _size(frame.face.box)
        if size_prev > 0 and size > 0:
            scale = abs(math.log(size / size_prev))
            shift = float(np.hypot(*(_centre(frame.face.box) - _centre(prev.face.box)))) / size_prev
            if scale > p.scale_jump_base + p.scale_jump_rate * dt:
                return Reason.FRAMING_JUMP, {"scale_log": scale, "dt_s": dt}
            if shift > p.shift_jump_base + p.shift_jump_rate * dt:
                return Reason.FRAMING_JUMP, {"shift": shift, "dt_s": dt}
        # A pose jump between two plateaus: frames ... a-1 | a ... (the newest one is `frame`).
        history = self.recent + [frame]
        k = p.plateau_frames
        if len(history) >= 2 * k:
            before, after = history[-2 * k:-k], history[-k:]
            jump = _pose_distance(before[-1].pose, after[0].pose)
            if jump > p.jump_deg and _spread(before) <= p.plateau_deg and _spread(after) <= p.plateau_deg:
                return Reason.POSE_JUMP, {"jump_deg": jump}
        return None

    def _steps(self, frame: _Frame) -> Verdict:
        p = self.policy
        ref = self.reference.pose
        deltas = {"yaw": frame.pose.yaw - ref.yaw, "pitch": frame.pose.pitch - ref.pitch}
        step = self.current
        previous = self.done[-1].step if self.done else None
        if self._baseline is None:  # where each direction stood when this step began
            self._baseline = {d: max(0.0, d.sign * deltas[d.axis]) for d in ChallengeStep}
        for other in ChallengeStep:
            if other in (step, previous):  # the previous step's pose is allowed to linger (or go on)
                continue
            toward = other.sign * deltas[other.axis]
            # A move, not a leftover: clearly past the threshold, and made since this step began.
            if toward >= p.wrong_factor * p.threshold(other) and toward - self._baseline[other] >= p.threshold(other):
                return self._fail(Reason.WRONG_ORDER, frame.t, expected=step.value, moved=other.value,
                                  degrees=toward)  # fmt: skip
        toward = step.sign * deltas[step.axis]
        if toward >= p.threshold(step):
            ref = self.reference.face
            sideways, vertical = foreshortening(ref.kps, ref.box, frame.face.kps, frame.face.box)
            excess = (sideways if step.axis == "yaw" else vertical) - p.foreshortening_allowed(step, toward)
            self._run.append((off_plane(self.reference.face.kps, frame.face.kps), excess))
            self._peak = max(self._peak, toward)
        else:
            self._run = []
        if len(self._run) < p.hold_frames:
            return self.verdict(frame.t)
        depth = float(np.median([d for d, _ in self._run]))
        excess = float(np.median([e for _, e in self._run]))
        if depth < p.min_off_plane:
            return self._fail(Reason.FLAT, frame.t, step=step.value, off_plane=depth)
        if excess > 0:
            return self._fail(Reason.FLAT, frame.t, step=step.value, foreshortening_excess_deg=excess)
        at = frame.t - self.start
        self.done.append(StepResult(step, at, frame.t - self._last_step_at, self._peak, depth, excess))
        self._last_step_at, self._run, self._peak, self._baseline = frame.t, [], 0.0, None
        if self.current is not None:
            return self.verdict(frame.t)
        span = frame.t - self.reference.t
        fps = (self.frames - 1) / span if span > 0 else 0.0
        if self.frames < p.min_frames or fps < p.min_fps:
            return self._fail(Reason.TOO_FEW_FRAMES, frame.t, frames=self.frames, fps=fps)
        self._verdict = Verdict(Status.LIVE, None, tuple(self.done), self._elapsed(frame.t), self.frames,
                                {"fps": fps})  # fmt: skip
        return self._verdict

    # -- helpers -----------------------------------------------------------------------------------------
    def _why_no_start(self) -> Reason:
        return Reason.NO_FRONTAL_START if self._faces_seen else Reason.NO_FACE

    def _elapsed(self, now: float | None) -> float:
        if self.start is None or now is None:
            return 0.0
        return max(0.0, now - self.start)

    def _fail(self, reason: Reason, t: float, **detail) -> Verdict:
        self._verdict = Verdict(Status.NOT_LIVE, reason, tuple(self.done), self._elapsed(t), self.frames,
                                {k: (float(v) if isinstance(v, np.floating) else v) for k, v in detail.items()})
        return self._verdict


def check_sequence(
    challenge: Sequence[ChallengeStep], observations: Sequence[Observation], policy: LivenessPolicy | None = None
) -> Verdict:
    """The verdict on a finished sequence (a file, a bench sequence)."""
    checker = LivenessChecker(challenge, policy)
    for observation in observations:
        if checker.observe(observation).decided:
            break
    return checker.finish(observations[-1].t if observations else None)


def _rounded(values: np.ndarray) -> list:
    return [round(float(v), 2) for v in np.asarray(values).ravel()]


def _size(box: np.ndarray) -> float:
    return math.sqrt(max(float(box[2] - box[0]), 0.0) * max(float(box[3] - box[1]), 0.0))


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float64)


def _pose_distance(a: HeadPose, b: HeadPose) -> float:
    return math.hypot(a.yaw - b.yaw, a.pitch - b.pitch)


def _spread(frames: Sequence[_Frame]) -> float:
    return max(_pose_distance(a.pose, b.pose) for a in frames for b in frames)
