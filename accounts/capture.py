"""Self-enrollment by webcam: the browser sends a frame every few hundred milliseconds; each is checked at
once (one sharp face, big enough, the same person as before, a pose not taken yet) and kept or refused with a
reason and an instruction; the kept frames are enrolled through the ordinary enrollment service as one batch.

Liveness first (LIVENESS_REQUIRED, on by default): no photo is kept until the person has done the head
movements the server picked for this capture (recognition/liveness.py), checked across consecutive frames on
the server's clock. The face that started the challenge (frontal) is the reference every later photo must
match, and the face that finished it must match it too, so a live person cannot pass the challenge for a
photo of someone else. A failed challenge starts a new random one; enrollment refuses a capture without one.

The state of a capture (poses kept so far, refusal counts...) is a small `CaptureState` the caller keeps (the
view keeps it in the session; it holds no biometric data); the kept frames, and the face template of the first
(reference.npy), wait as files under SIGNUP_PENDING_DIR/<user id>/<capture id>/ until they are enrolled (then
they are face images under MEDIA_ROOT, and these files are deleted).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np

from accounts.conf import account_settings
from accounts.pending_frames import discard_pending, pending_dir, purge_stale_pending
from accounts.services import person_for_user, require_consent
from recognition import inference, liveness
from recognition.domain.liveness import Reason, Status
from recognition.domain.quality import QualityCode, QualityGate, Rejection
from recognition.engine.capture import Offer, PoseCollector
from recognition.engine.imageio import InvalidImage, decode_image
from recognition.models import Enrollment, FaceImage, Person, Source
from recognition.refusals import Refusal
from recognition.rejections import rejection_kind, rejection_words
from recognition.services import lifecycle
from recognition.services.enrollment import quality_gate, start_enrollment
from recognition.services.matching import pack_policy
from recognition.uploads import UploadItem

MODES = ("signup", "add", "replace")  # first photos; more photos; new photos that replace the old ones

# What to ask for next, by the number of photos kept: a few slightly different poses.
POSE_PLAN = (
    "Look straight at the camera",
    "Turn your head a little to the left",
    "Turn your head a little to the right",
    "Tilt your chin up a little",
    "Tilt your chin down a little",
    "Look straight again, then a little to the left",
    "A little to the right",
)
DIFFERENT_PERSON = "a different person than in the first photos"


class FrameStatus(StrEnum):
    """What became of a webcam frame that was not refused."""

    KEPT = "kept"
    ENOUGH_PHOTOS = "enough_photos"  # the capture has all its photos already
    LIVENESS_CHECK = "liveness_check"  # the frame went to the running liveness challenge
    LIVENESS_PASSED = "liveness_passed"


class FrameRefusal(StrEnum):
    """Why a webcam frame was not kept, besides the quality gate's codes (recognition.domain.quality)."""

    UNREADABLE = "unreadable"
    DUPLICATE_POSE = "duplicate_pose"
    DIFFERENT_PERSON = "different_person"
    LIVENESS_FAILED = "liveness_failed"


# A refusal code (the quality gate's, or ours) -> (short category for the counts, what the person should do).
_ADVICE: dict[str, tuple[str, str]] = {
    QualityCode.NO_FACE: ("no face found", "Move into the picture and face the camera"),
    QualityCode.FACE_TOO_SMALL: ("face too small", "Come closer to the camera"),
    QualityCode.SEVERAL_FACES: ("more than one face", "Make sure only you are in the picture"),
    QualityCode.BLURRED: ("too blurred", "Hold still, and add some light if you can"),
    QualityCode.TURNED_AWAY: ("turned too far", "Turn a little less"),
    FrameRefusal.DUPLICATE_POSE: ("same pose as a kept photo", ""),  # "" = the next pose of the plan
    FrameRefusal.DIFFERENT_PERSON: ("a different person", "Only the person signing up should be in the picture"),
    FrameRefusal.UNREADABLE: ("unreadable frame", "Check the camera"),
    FrameRefusal.LIVENESS_FAILED: ("liveness check failed", ""),  # "" = the new challenge's first step
}
# The liveness checker's refusal codes, in words for the page.
LIVENESS_WORDS = {
    Reason.TIMEOUT: "too slow",
    Reason.INCOMPLETE: "not finished",
    Reason.WRONG_ORDER: "moved the wrong way",
    Reason.POSE_JUMP: "the head jumped between poses (photos?)",
    Reason.FRAMING_JUMP: "the face jumped in the picture (photos?)",
    Reason.FLAT: "the face moved like a flat picture",
    Reason.NO_FACE: "no face",
    Reason.FACE_LOST: "the face left the picture",
    Reason.SEVERAL_FACES: "more than one face",
    Reason.TOO_FEW_FRAMES: "too few frames from the camera",
    Reason.NO_FRONTAL_START: "did not face the camera first",
}


class CaptureError(ValueError):
    """A request the capture cannot take (no capture started, too few photos to finish...)."""


@dataclass
class CaptureState:
    user_id: int
    capture_id: str
    mode: str
    wanted: int
    minimum: int
    poses: list[list[float]] = field(default_factory=list)  # yaw, pitch of each kept photo
    refused: dict[str, int] = field(default_factory=dict)  # refusal code -> frames refused for it
    batch_id: int | None = None  # set when the kept photos went to enrollment
    last_frame_at: float = 0.0  # the view's rate limit
    live: bool = False  # the liveness challenge was passed in this capture (or is not required)
    liveness: dict | None = None  # the running challenge's checker state (recognition.liveness), small
    challenges: int = 0  # challenges started in this capture

    @property
    def count(self) -> int:
        return len(self.poses)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CaptureState:
        data = {k: v for k, v in data.items() if k != "reference"}  # sessions saved before it left the state
        return cls(**data)


@dataclass(frozen=True)
class FrameVerdict:
    kept: bool
    reason: str
    instruction: str
    count: int
    wanted: int
    minimum: int
    box: list[float] | None = None  # the chosen face, as fractions of the frame (x1, y1, x2, y2)
    liveness: dict | None = None  # the challenge's progress while it runs (see liveness_progress)
    code: str = ""  # a FrameStatus; for a refused frame a QualityCode or FrameRefusal (the page branches on it)

    @property
    def done(self) -> bool:
        return self.count >= self.wanted

    def as_dict(self) -> dict:
        return {**asdict(self), "done": self.done}


# The face template of the first kept photo, which later frames must match. A biometric template, so it is kept
# beside the kept frames (deleted with them), never in the session (django_session rows outlive erasure).
REFERENCE_FILE = "reference.npy"


def _reference(state: CaptureState) -> np.ndarray | None:
    path = pending_dir(state.user_id, state.capture_id) / REFERENCE_FILE
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def _keep_reference(state: CaptureState, embedding: np.ndarray) -> None:
    directory = pending_dir(state.user_id, state.capture_id)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / REFERENCE_FILE, np.asarray(embedding, np.float32), allow_pickle=False)


def _drop_reference(state: CaptureState) -> None:
    (pending_dir(state.user_id, state.capture_id) / REFERENCE_FILE).unlink(missing_ok=True)


def _enrolled_count(person: Person) -> int:
    return person.images.filter(status=FaceImage.Status.ENROLLED).count()


def start_capture(user, mode: str = "signup") -> CaptureState:
    """A new capture round for `user` (whose consent must be on record); earlier unfinished frames are
    dropped.

    signup: until the person has SIGNUP_MIN_PHOTOS enrolled photos (earlier rounds count); add: at least one
    more; replace: a full new set, after which the old photos go to the recycle bin."""
    if mode not in MODES:
        raise CaptureError(f"unknown capture mode {mode!r}")
    require_consent(user)
    person = person_for_user(user)
    if person.in_recycle_bin:
        raise CaptureError("your face data is in the recycle bin; ask an administrator to restore or purge it")
    conf = account_settings()
    photos, least = max(1, conf.signup_photos), max(1, conf.signup_min_photos)
    if mode == "signup":
        enrolled = _enrolled_count(person)
        wanted, minimum = max(1, photos - enrolled), max(1, least - enrolled)
    else:
        wanted, minimum = photos, (least if mode == "replace" else 1)
    discard_pending(user)
    purge_stale_pending()
    state = CaptureState(user_id=user.pk, capture_id=secrets.token_hex(8), mode=mode,
                         wanted=wanted, minimum=min(minimum, wanted))  # fmt: skip
    if conf.liveness_required:
        _new_challenge(state)
    else:
        state.live = True
    pending_dir(user.pk, state.capture_id).mkdir(parents=True, exist_ok=True)
    return state


def _new_challenge(state: CaptureState) -> None:
    state.liveness = liveness.LivenessSession.start().to_state()
    state.challenges += 1
    state.live = False
    _drop_reference(state)  # the next challenge's first frontal face is the reference


def liveness_progress(state: CaptureState) -> dict | None:
    """{"steps": [...], "done": n, "step": the current one} while a challenge runs; None once passed."""
    if state.live or state.liveness is None:
        return None
    session = liveness.LivenessSession.from_state(state.liveness)
    return {"steps": [s.value for s in session.challenge], "done": len(session.checker.done),
            "step": session.current.value if session.current else None}  # fmt: skip


def next_instruction(state: CaptureState) -> str:
    if not state.live and state.liveness is not None:
        session = liveness.LivenessSession.from_state(state.liveness)
        if session.checker.reference is None:
            return "Look straight at the camera"
        return liveness.instruction(session.current)
    return POSE_PLAN[state.count % len(POSE_PLAN)]


def _same_person_threshold() -> float:
    return pack_policy(inference.active_pack().name).threshold


def offer_frame(
    state: CaptureState, data: bytes, analyzer=None, gate: QualityGate | None = None, now: float | None = None
) -> FrameVerdict:
    """Check one webcam frame (JPEG/PNG bytes) and keep it when it is a good, new photo. Updates `state`.
    While the liveness challenge runs, the frame goes to it instead, timed by `now` (the server's clock)."""
    if state.batch_id is not None:
        raise CaptureError("these photos are already being enrolled")
    conf = account_settings()
    if len(data) > conf.signup_max_frame_bytes:
        raise CaptureError(f"a frame may be at most {conf.signup_max_frame_bytes} bytes")
    done = dict(count=state.count, wanted=state.wanted, minimum=state.minimum)
    if state.count >= state.wanted:
        return FrameVerdict(False, "enough photos", "Done: hold on while your photos are enrolled", **done,
                            code=FrameStatus.ENOUGH_PHOTOS)  # fmt: skip
    try:
        frame = decode_image(data, max_pixels=conf.max_frame_pixels)
    except InvalidImage as exc:
        return _refused(state, FrameRefusal.UNREADABLE, f"unreadable frame ({exc})")
    if analyzer is None:
        analyzer = inference.face_analyzer()
    if not state.live:
        return _liveness_frame(state, frame, analyzer, now)
    gate = gate or quality_gate()
    reference = _reference(state)
    threshold = _same_person_threshold() if reference is not None else 0.0
    chosen_faces = []

    def choose(faces):
        chosen = gate.choose(faces)
        if isinstance(chosen, Rejection):
            return chosen
        chosen_faces.append(chosen)
        embedding = chosen.embedding
        if reference is not None and embedding is not None and embedding.shape == reference.shape:
            if float(np.dot(embedding, reference)) < threshold:
                return FrameRefusal.DIFFERENT_PERSON
        return chosen

    collector = PoseCollector(choose, wanted=state.wanted, min_pose_step=conf.signup_min_pose_step)
    collector.poses.extend((float(y), float(p)) for y, p in state.poses)  # the poses kept in earlier requests
    offered = collector.offer(frame, analyzer.analyze(frame, emotion=False))
    box = None
    if chosen_faces:
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in chosen_faces[0].box)
        box = [round(x1 / width, 4), round(y1 / height, 4), round(x2 / width, 4), round(y2 / height, 4)]
    if offered.outcome is Offer.DUPLICATE_POSE:
        return _refused(state, FrameRefusal.DUPLICATE_POSE, "duplicate pose", box)
    if offered.outcome is Offer.REFUSED:
        if isinstance(offered.refusal, Rejection):
            return _refused(state, offered.refusal.code, rejection_words(offered.refusal), box)
        return _refused(state, FrameRefusal.DIFFERENT_PERSON, DIFFERENT_PERSON, box)
    face = chosen_faces[0]
    directory = pending_dir(state.user_id, state.capture_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{state.count + 1:02d}.jpg").write_bytes(data)
    state.poses.append([round(face.quality.yaw, 2), round(face.quality.pitch, 2)])
    if reference is None and face.embedding is not None:
        _keep_reference(state, face.embedding)
    instruction = "Done: hold on while your photos are enrolled" if state.count >= state.wanted \
        else next_instruction(state)  # fmt: skip
    return FrameVerdict(True, "kept", instruction, state.count, state.wanted, state.minimum, box,
                        code=FrameStatus.KEPT)  # fmt: skip


def _liveness_frame(state: CaptureState, frame: np.ndarray, analyzer, now: float | None = None) -> FrameVerdict:
    """One frame of the challenge: detection only (embeddings for the first frontal frame and the last one).
    Timestamps are the server's clock: the browser cannot speed the challenge up or slow it down."""
    session = liveness.LivenessSession.from_state(state.liveness)
    had_reference = session.checker.reference is not None
    detections = analyzer.detect(frame)
    verdict = session.offer_faces(detections, time.time() if now is None else now)
    if not had_reference and session.checker.reference is not None:
        started_by = _embedding(analyzer, frame)  # the person who starts the challenge
        if started_by is not None:
            _keep_reference(state, started_by)
    if verdict.status is Status.LIVE:
        last = _embedding(analyzer, frame)
        reference = _reference(state)
        if reference is None or last is None or float(np.dot(np.asarray(last, np.float32), reference)) \
                < _same_person_threshold():  # fmt: skip
            _new_challenge(state)
            return _refused(state, FrameRefusal.LIVENESS_FAILED, f"liveness failed: {DIFFERENT_PERSON}",
                            progress=liveness_progress(state))  # fmt: skip
        state.live, state.liveness = True, None
        done = dict(count=state.count, wanted=state.wanted, minimum=state.minimum)
        return FrameVerdict(False, "liveness passed", next_instruction(state), **done, code=FrameStatus.LIVENESS_PASSED)
    if verdict.status is Status.NOT_LIVE:
        _new_challenge(state)
        words = LIVENESS_WORDS.get(verdict.reason, verdict.reason.value if verdict.reason else "")
        return _refused(state, FrameRefusal.LIVENESS_FAILED, f"liveness failed: {words}",
                        progress=liveness_progress(state))  # fmt: skip
    state.liveness = session.to_state()
    done = dict(count=state.count, wanted=state.wanted, minimum=state.minimum)
    return FrameVerdict(False, "liveness check", next_instruction(state), **done,
                        liveness=liveness_progress(state), code=FrameStatus.LIVENESS_CHECK)  # fmt: skip


def _embedding(analyzer, frame: np.ndarray) -> list[float] | None:
    faces = analyzer.analyze(frame, emotion=False)
    if len(faces) != 1 or faces[0].embedding is None:
        return None
    return [round(float(v), 6) for v in faces[0].embedding]


def _refused(state: CaptureState, code: str, reason: str, box: list[float] | None = None,
             progress: dict | None = None) -> FrameVerdict:  # fmt: skip
    """A refused frame: counted under its code; `reason` is the words for the page, the advice is the code's."""
    _, instruction = _ADVICE[code]
    state.refused[str(code)] = state.refused.get(str(code), 0) + 1
    return FrameVerdict(False, reason, instruction or next_instruction(state), state.count, state.wanted,
                        state.minimum, box, progress, str(code))  # fmt: skip


def refusal_summary(state: CaptureState, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons frames were refused, in words, for "why so few photos?"."""
    counts = Counter[str]()
    for code, count in state.refused.items():
        counts[_ADVICE.get(code, (code, ""))[0]] += count  # a session of before the codes holds the words
    return counts.most_common(limit)


def finish_capture(user, state: CaptureState) -> Enrollment:
    """Send the kept frames to enrollment as one batch (source sign-up or webcam); drop the pending files."""
    if state.batch_id is not None:
        return Enrollment.objects.get(pk=state.batch_id)
    require_consent(user)
    if account_settings().liveness_required and not state.live:
        raise CaptureError("the liveness check has not been passed in this capture")
    directory = pending_dir(state.user_id, state.capture_id)
    files = sorted(directory.glob("*.jpg")) if directory.is_dir() else []
    if len(files) < state.minimum:
        raise CaptureError(f"{len(files)} good photos so far; at least {state.minimum} are needed")
    person = person_for_user(user)
    source = Source.SIGNUP if state.mode == "signup" else Source.WEBCAM
    items = [UploadItem(person.display_name, f"{state.mode}-{index}.jpg", path.read_bytes())
             for index, path in enumerate(files, 1)]  # fmt: skip
    batch = start_enrollment(items, source=source, started_by=user, person=person)
    state.batch_id = batch.pk
    shutil.rmtree(directory, ignore_errors=True)
    return batch


def _rejection_kind(code: str, words: str) -> str:
    """One line per kind of rejection: a quality code's words without its figures ("face turned too far to the
    side", whatever the degrees); any other refusal's words are the same for every file of its kind."""
    try:
        return rejection_kind(QualityCode(code))
    except ValueError:
        return words


@dataclass(frozen=True)
class CaptureOutcome:
    finished: bool  # the batch has been processed
    ok: bool  # enough photos are enrolled
    enrolled: int  # photos of this batch enrolled
    total_enrolled: int  # all enrolled photos of the person
    rejected: list[dict]  # {"reason": ..., "count": n} for this batch's rejected photos
    message: str
    held: bool = False  # photos refused as not confirmed to be this person: staff decide, another round won't help

    def as_dict(self) -> dict:
        return asdict(self)


def capture_outcome(user, state: CaptureState) -> CaptureOutcome:
    """Where the enrollment of a finished capture stands. When it is done and enough photos were enrolled in
    `replace` mode, the person's older photos go to the recycle bin (once)."""
    if state.batch_id is None:
        raise CaptureError("no photos have been sent to enrollment yet")
    batch = Enrollment.objects.get(pk=state.batch_id)
    images = batch.images.all()
    person = person_for_user(user)
    enrolled = images.filter(status=FaceImage.Status.ENROLLED).count()
    finished = batch.state in (Enrollment.State.DONE, Enrollment.State.FAILED)
    reasons = Counter(
        _rejection_kind(code, words)
        for code, words in images.filter(status=FaceImage.Status.REJECTED).values_list("reject_code", "reject_reason")
    )
    reasons.update(_rejection_kind(error.get("code", ""), error["error"]) for error in batch.errors)
    rejected = [{"reason": reason, "count": count} for reason, count in reasons.most_common()]
    total = _enrolled_count(person)
    least = max(1, account_settings().signup_min_photos)
    if state.mode == "signup":
        ok = total >= least
    elif state.mode == "replace":
        ok = enrolled >= min(least, state.minimum)
    else:
        ok = enrolled >= 1
    held = (
        finished
        and not ok
        and (
            images.filter(reject_code=Refusal.IDENTITY_CONFLICT).exists()
            or any(error.get("code") == Refusal.SAME_IMAGE_ELSEWHERE for error in batch.errors)
        )
    )
    if not finished:
        message = "Enrolling your photos…"
    elif held:
        message = ("Your photos could not be confirmed as you, so they are held for review by staff. "
                   "Log in with your password later to see the outcome.")  # fmt: skip
    elif ok:
        message = f"{enrolled} photos enrolled."
        if state.mode == "replace":
            old = person.images.exclude(enrollment=batch).exclude(status=FaceImage.Status.DELETED)
            moved = lifecycle.move_images_to_recycle_bin(old, actor=user)
            if moved:
                message += f" {moved} older photos moved to the recycle bin."
    else:
        why = "; ".join(f"{r['reason']} ({r['count']})" for r in rejected) or "no photo could be enrolled"
        message = f"Only {enrolled} of {images.count()} photos could be enrolled: {why}. Let's take a few more."
    return CaptureOutcome(finished, finished and ok, enrolled, total, rejected, message, held)
