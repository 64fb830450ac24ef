"""The attendance app's settings in one place, with their defaults beside them (facesite/settings/attendance.py
reads the environment; this module only gathers what attendance uses, read on every call so tests can override)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class AttendanceSettings:
    cooldown_s: int
    checkout_gap_s: int
    exit_sources: frozenset[str]
    anonymise_on_erasure: bool
    evidence_px: int
    evidence_retention_days: int
    emotions_for_members: bool
    emotion_uncertain_below: float  # recognition's setting, shown on the emotion chart

    @property
    def keeps_evidence(self) -> bool:
        return self.evidence_retention_days > 0


def attendance_settings() -> AttendanceSettings:
    return AttendanceSettings(
        cooldown_s=int(getattr(settings, "ATTENDANCE_COOLDOWN_S", 300)),
        checkout_gap_s=int(getattr(settings, "ATTENDANCE_CHECKOUT_GAP_S", 3600)),
        exit_sources=frozenset(getattr(settings, "ATTENDANCE_EXIT_SOURCES", ["exit"])),
        anonymise_on_erasure=bool(getattr(settings, "ATTENDANCE_ANONYMISE_ON_ERASURE", True)),
        evidence_px=int(getattr(settings, "ATTENDANCE_EVIDENCE_PX", 96)),
        evidence_retention_days=int(getattr(settings, "EVIDENCE_RETENTION_DAYS", 30)),
        emotions_for_members=bool(getattr(settings, "ATTENDANCE_EMOTIONS_FOR_MEMBERS", False)),
        emotion_uncertain_below=float(getattr(settings, "EMOTION_UNCERTAIN_BELOW", 0.4)),
    )
