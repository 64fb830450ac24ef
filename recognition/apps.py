import logging

from django.apps import AppConfig

log = logging.getLogger("recognition")


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = "Recognition"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from recognition import tasks  # noqa: F401  the services send these tasks by name; register them here
        from recognition.inference import active_pack, forget_active_pack

        pack = active_pack(from_database=False)  # no queries while apps load; a re-embedded pack shows on pages
        log.info("face model pack configured: %s (%s)", pack.name, pack.licence_line)
        post_save.connect(lambda **kwargs: forget_active_pack(), sender="recognition.PackSettings", weak=False)
