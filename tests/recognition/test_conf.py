"""Recognition reads its settings through recognition.conf: one typed value, read on every call."""

from dataclasses import fields

from django.conf import settings as django_settings

from recognition.conf import RecognitionSettings, recognition_settings


def test_every_field_is_a_project_setting_and_an_override_is_seen_on_the_next_call(settings) -> None:
    conf = recognition_settings()
    for field in fields(RecognitionSettings):
        assert hasattr(django_settings, field.name.upper()), field.name
    assert conf.live_max_fps == django_settings.LIVE_MAX_FPS
    settings.LIVE_MAX_FPS = conf.live_max_fps + 7
    settings.LIVE_INFERENCE_CHANNELS = ["live-inference-0"]
    again = recognition_settings()
    assert again.live_max_fps == conf.live_max_fps + 7
    assert again.live_inference_channels == ("live-inference-0",)
