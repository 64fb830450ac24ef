from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations: webhooks and MQTT"

    def ready(self) -> None:
        # Listening only: attendance, recognition and devices send their signals and never import this app.
        from attendance.signals import attendance_recorded, unknown_face_recorded
        from devices.signals import device_status_changed as device_status
        from integrations import receivers, tasks  # noqa: F401  tasks: sent by name, registered here
        from integrations.signals import device_status_changed
        from recognition.signals import enrollment_finished, person_erasing

        attendance_recorded.connect(receivers.on_attendance_recorded, dispatch_uid="integrations-attendance")
        enrollment_finished.connect(receivers.on_enrollment_finished, dispatch_uid="integrations-enrollment")
        device_status_changed.connect(receivers.on_device_status_changed, dispatch_uid="integrations-device")
        device_status.connect(receivers.on_device_status, dispatch_uid="integrations-devices-app")
        unknown_face_recorded.connect(receivers.on_unknown_face_recorded, dispatch_uid="integrations-unknown-face")
        person_erasing.connect(receivers.on_person_erasing, dispatch_uid="integrations-erasure")
