from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = "Attendance"

    def ready(self) -> None:
        from recognition.signals import people_merging, person_erasing

        person_erasing.connect(_on_person_erasing, dispatch_uid="attendance-erasure")
        people_merging.connect(_on_people_merging, dispatch_uid="attendance-merge")


def _on_person_erasing(sender, person, **kwargs) -> int:
    """Returns the attendance rows anonymised, or the face crops removed from kept rows."""
    from attendance.services import handle_biometric_erasure

    return handle_biometric_erasure(person)


def _on_people_merging(sender, source, target, **kwargs) -> None:
    from attendance.services import move_attendance

    move_attendance(source, target)
