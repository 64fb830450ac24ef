"""docker-compose.yml cannot run here (no Docker engine), so check that it fits the project it deploys."""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

REPO = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
APP_SERVICES = ["web", "worker", "worker-gpu", "cameras"]
# Variables that the container images themselves read (Postgres image), not the project.
IMAGE_VARIABLES = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
PROCESS_VARIABLES = {"DJANGO_SETTINGS_MODULE"}  # read by Django and Celery themselves
SECRETS = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "ADMIN_PASSWORD")


def settings_variables() -> set[str]:
    files = [*sorted((REPO / "facesite" / "settings").glob("*.py")), REPO / "facesite" / "settings_production.py"]
    source = "".join(path.read_text() for path in files)
    return set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", source))


def test_services_are_the_ones_the_design_names() -> None:
    assert set(COMPOSE["services"]) == {"db", "redis", "web", "worker", "worker-gpu", "cameras"}
    assert "pgvector" in COMPOSE["services"]["db"]["image"]
    for name, service in COMPOSE["services"].items():
        assert "healthcheck" in service, f"{name} has no health check"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_variable_a_service_sets_is_read_by_settings(name: str) -> None:
    environment = COMPOSE["services"][name]["environment"]
    unknown = set(environment) - settings_variables() - IMAGE_VARIABLES - PROCESS_VARIABLES
    assert not unknown, f"{name} sets variables facesite/settings never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_command_names_something_that_exists(name: str) -> None:
    command = COMPOSE["services"][name]["command"]
    text = " ".join(command)
    for module in re.findall(r"python -m ([\w.]+)", text):
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
    for management_command in re.findall(r"manage\.py (\w+)", text):
        assert management_command in get_commands(), f"{name}: no management command {management_command}"
    for app in re.findall(r"(?:-A|--app) ([\w.]+)", text):
        assert importlib.util.find_spec(app) is not None, f"{name}: no Celery app module {app}"
    for target in re.findall(r"([\w.]+):application", text):
        assert importlib.util.find_spec(target) is not None, f"{name}: no ASGI module {target}"
    for queue_list in re.findall(r"-Q ([\w,]+)", text):
        assert set(queue_list.split(",")) <= {"celery", "enroll", "gpu"}


def test_gpu_worker_reserves_an_nvidia_device_and_takes_the_gpu_queue() -> None:
    service = COMPOSE["services"]["worker-gpu"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "gpu" in " ".join(service["command"])
    assert service["build"]["args"]["ONNXRUNTIME"] == "onnxruntime-gpu"


def test_database_and_media_live_in_volumes() -> None:
    assert any("/var/lib/postgresql/data" in v for v in COMPOSE["services"]["db"]["volumes"])
    assert any(v.startswith("media:") for v in COMPOSE["services"]["web"]["volumes"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_services_run_the_production_settings(name: str) -> None:
    environment = COMPOSE["services"][name]["environment"]
    assert environment["DJANGO_SETTINGS_MODULE"] == "facesite.settings_production"
    assert environment["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO,https"


def test_no_secret_has_a_default() -> None:
    """Every use of a secret is ${NAME:?message}: compose refuses to start without it, never falls back."""
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:?[-?+]?)", COMPOSE_TEXT)
        assert uses, f"{secret} is never used"
        assert set(uses) == {":?"}, f"{secret} has a default or may be empty: {uses}"
    assert "${POSTGRES_PASSWORD:?" in COMPOSE["services"]["web"]["environment"]["DATABASE_URL"]
    assert "${REDIS_PASSWORD:?" in COMPOSE["services"]["web"]["environment"]["REDIS_URL"]
    assert "--requirepass" in " ".join(COMPOSE["services"]["redis"]["command"])


def test_plain_http_is_published_on_the_loopback_only() -> None:
    """daphne speaks HTTP; the host exposes it to its own TLS proxy, not to the network."""
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("${WEB_BIND:-127.0.0.1}:"), f"{name} publishes {port} on every address"
