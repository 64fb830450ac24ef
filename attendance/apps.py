from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = "Attendance"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from devices.signals import device_status_changed
        from recognition.signals import (
            face_confirmed,
            people_merging,
            person_erasing,
            presence_source_check,
            unknown_face_lingered,
        )

        face_confirmed.connect(_on_face_confirmed, dispatch_uid="attendance-presence")
        unknown_face_lingered.connect(_on_unknown_face, dispatch_uid="attendance-unknown-face")
        presence_source_check.connect(_on_source_check, dispatch_uid="attendance-source-check")
        person_erasing.connect(_on_person_erasing, dispatch_uid="attendance-erasure")
        device_status_changed.connect(_on_device_status, dispatch_uid="attendance-dashboard-devices")
        people_merging.connect(_on_people_merging, dispatch_uid="attendance-merge")
        post_delete.connect(_on_event_deleted, sender="attendance.AttendanceEvent", dispatch_uid="attendance-crop")


def _on_person_erasing(sender, person, person_kept: bool = True, **kwargs) -> int:
    """Returns the attendance rows anonymised, or the face crops removed from kept rows."""
    from attendance.services import handle_biometric_erasure

    return handle_biometric_erasure(person, person_kept=person_kept)


def _on_event_deleted(sender, instance, **kwargs) -> None:
    """An event deleted (the admin, a cascade) takes its face crop file with it, once the delete commits."""
    from attendance.services import delete_evidence_file_on_commit

    delete_evidence_file_on_commit(instance)


def _on_people_merging(sender, source, target, **kwargs) -> None:
    from attendance.services import move_attendance

    move_attendance(source, target)


def _on_face_confirmed(sender, signal=None, **sighting):
    """A live stream confirmed a person: record presence (None inside the source's cooldown)."""
    from attendance.services import record_presence

    return record_presence(**sighting)


def _on_unknown_face(sender, signal=None, **sighting):
    from attendance.services import record_unknown_face

    return record_unknown_face(**sighting)


def _on_source_check(sender, source: str, **kwargs) -> None:
    from attendance.services import check_source

    check_source(source)


def _on_device_status(sender, **kwargs) -> None:
    """A kiosk or camera came up or went away: the dashboard's "devices offline" tile changed."""
    from attendance.services import board_changed

    board_changed("device")
