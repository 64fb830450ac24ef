"""attendance/conf.py: every call reads the current settings, and its defaults agree with facesite/settings."""

import os

from attendance import conf

NAMES = {
    "cooldown_s": "ATTENDANCE_COOLDOWN_S",
    "checkout_gap_s": "ATTENDANCE_CHECKOUT_GAP_S",
    "exit_sources": "ATTENDANCE_EXIT_SOURCES",
    "anonymise_on_erasure": "ATTENDANCE_ANONYMISE_ON_ERASURE",
    "evidence_px": "ATTENDANCE_EVIDENCE_PX",
    "evidence_retention_days": "EVIDENCE_RETENTION_DAYS",
    "emotions_for_members": "ATTENDANCE_EMOTIONS_FOR_MEMBERS",
    "emotion_uncertain_below": "EMOTION_UNCERTAIN_BELOW",
}


def test_an_override_is_read_on_the_next_call(settings) -> None:
    settings.ATTENDANCE_EXIT_SOURCES = ["kiosk", "gate"]
    settings.EVIDENCE_RETENTION_DAYS = 0
    read = conf.attendance_settings()
    assert read.exit_sources == frozenset({"kiosk", "gate"})
    assert (read.evidence_retention_days, read.keeps_evidence) == (0, False)


def test_the_defaults_are_those_of_facesite_settings(settings) -> None:
    from facesite import settings as project

    expected = {field: getattr(project, name) for field, name in NAMES.items() if name not in os.environ}
    for name in NAMES.values():
        delattr(settings, name)
    read = conf.attendance_settings()
    for field, value in expected.items():
        assert getattr(read, field) == (frozenset(value) if field == "exit_sources" else value), field
