"""A kiosk that requires the liveness challenge: a person the stream confirms is recorded only after they have
turned their head as asked (recognition.liveness), in front of the same kiosk, within LIVENESS_TIMEOUT_S.

The stream holds its confirmations (LiveStream(hold_confirmations=True)); this gate takes the newest one, starts
a random challenge for that person, offers it every frame, and releases the confirmation when the verdict is
live. After a verdict of not live the person is asked again (a new random challenge) after RETRY_AFTER_S if the
stream still names them then; a new confirmation (someone else, or the same person back on a new track) also
starts one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from recognition import liveness
from recognition.live.streams import LiveStream, Sighting

RETRY_AFTER_S = 2.0  # after a failed challenge, before the next one starts (the "try again" stays on screen)


@dataclass(frozen=True)
class GateState:
    """What the kiosk page shows about the challenge this frame."""

    state: str  # "idle", "challenge", "passed", "failed"
    name: str = ""
    instruction: str = ""
    steps_done: int = 0
    steps: int = 0
    reason: str = ""  # a recognition.domain.liveness.Reason value when failed

    def as_dict(self) -> dict:
        return {"state": self.state, "name": self.name, "instruction": self.instruction,
                "steps_done": self.steps_done, "steps": self.steps, "reason": self.reason}  # fmt: skip


class LivenessGate:
    def __init__(self, stream: LiveStream) -> None:
        if not stream.hold_confirmations:
            raise ValueError("the stream must hold its confirmations for the gate to release them")
        self.stream = stream
        self.session: liveness.LivenessSession | None = None
        self.pending: Sighting | None = None
        self.failed: Sighting | None = None  # the last one refused, asked again while still in view
        self.retry_at = 0.0

    def offer(self, frame_bgr: np.ndarray, named: Collection[int], t: float) -> GateState:
        """After the stream has processed `frame_bgr`, in which it names the people `named` (their ids); t is
        seconds on an increasing clock."""
        if self.session is None:
            if t < self.retry_at:
                return GateState("idle")
            if self.stream.held:
                self.pending = self.stream.held[-1]
                self.stream.held.clear()
            elif self.failed is not None and self.failed.person_id in named:
                self.pending = self.failed
            else:
                self.failed = None  # they left: a new confirmation starts the next challenge
                return GateState("idle")
            self.failed = None
            self.session = liveness.LivenessSession.start()
        verdict = self.session.offer(frame_bgr, t)
        name = self.pending.name
        if verdict.live:
            self.stream.release(self.pending)
            self._reset()
            return GateState("passed", name=name)
        if verdict.decided:
            reason = verdict.reason.value if verdict.reason else ""
            self.failed = self.pending
            self._reset()
            self.retry_at = t + RETRY_AFTER_S
            return GateState("failed", name=name, reason=reason)
        steps = self.session.challenge
        return GateState("challenge", name=name, instruction=liveness.instruction(self.session.current),
                         steps_done=len(verdict.steps), steps=len(steps))  # fmt: skip

    def _reset(self) -> None:
        self.session, self.pending = None, None
