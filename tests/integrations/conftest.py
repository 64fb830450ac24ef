"""Fixtures of the integrations tests: short backoffs, a real webhook receiver, a real mosquitto broker, a
device as the devices app will send it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from integrations.events import EventType
from integrations.models import WebhookSubscription
from tests.attendance.factories import make_person
from tests.integrations.receivers import Receiver
from tests.support.services import free_port, stop_process, wait_for_port

SECRET = "a-shared-secret-of-the-test-receiver"


@pytest.fixture(autouse=True)
def integration_settings(settings, tmp_path: Path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TIME_ZONE = "UTC"
    settings.SITE_URL = "https://faces.example.test"
    settings.WEBHOOK_TIMEOUT_S = 2.0
    settings.WEBHOOK_BACKOFF_S = 0.05
    settings.WEBHOOK_BACKOFF_MAX_S = 0.2
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    settings.MQTT_URL = ""
    settings.MQTT_TOPIC_PREFIX = "facesite"
    settings.MQTT_TIMEOUT_S = 5.0
    settings.UNKNOWN_FACE_ALERT_S = 10.0
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port, not yet listening (a delivery to it is refused until .start())."""
    server = Receiver(free_port(), SECRET)
    yield server
    server.stop()


def subscribe(url: str, *types: str, secret: str = SECRET, name: str = "test receiver") -> WebhookSubscription:
    return WebhookSubscription.objects.create(name=name, url=url, secret=secret,
                                              event_types=list(types or EventType.values))  # fmt: skip


@pytest.fixture
def ada(db):
    return make_person("Ada Lovelace")


def device(name: str = "Front door", location: str | None = "HQ Lobby", pk: int = 7) -> SimpleNamespace:
    """What devices' Device looks like to integrations: pk, name, kind and location (pk, name)."""
    place = SimpleNamespace(pk=3, name=location) if location else None
    return SimpleNamespace(pk=pk, name=name, kind="kiosk", location=place)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory) -> Iterator[str]:
    """A real mosquitto broker on a free loopback port for the session; yields its mqtt:// URL."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed (make test installs it: apt-get install mosquitto)")
    port = free_port()
    root = tmp_path_factory.mktemp("mosquitto")
    config = root / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    log = (root / "mosquitto.log").open("w")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process, timeout=20)
    yield f"mqtt://127.0.0.1:{port}"
    stop_process(process)
    log.close()


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
