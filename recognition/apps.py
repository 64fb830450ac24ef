import logging

from django.apps import AppConfig

log = logging.getLogger("recognition")


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = "Recognition"

    def ready(self) -> None:
        from recognition.inference import active_pack

        pack = active_pack()
        log.info("face model pack: %s (%s)", pack.name, pack.licence_line)
