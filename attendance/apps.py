from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = "Attendance"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from recognition.signals import people_merging, person_erasing

        person_erasing.connect(_on_person_erasing, dispatch_uid="attendance-erasure")
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
