"""facesite/settings is one module per concern: each setting defined once, composed without patching, and the
environment read nowhere else."""

import ast
import re
from collections import defaultdict

from django.conf import settings

from tests.foundation.test_compose import REPO

SETTINGS_DIR = REPO / "facesite" / "settings"
APP_PACKAGES = ["facesite", "accounts", "attendance", "audit", "devices", "integrations", "recognition"]
MUTATORS = {"update", "append", "insert", "extend", "setdefault", "pop"}


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(SETTINGS_DIR.glob("*.py"))}


def _defined(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def test_every_setting_is_defined_in_exactly_one_module() -> None:
    where = defaultdict(list)
    for name, tree in _modules().items():
        for setting in _defined(tree):
            where[setting].append(name)
    twice = {setting: modules for setting, modules in where.items() if len(modules) > 1}
    assert not twice, f"settings defined in more than one module: {twice}"
    assert {"SECRET_KEY", "DATABASES", "INSTALLED_APPS", "REST_FRAMEWORK", "LOGGING"} <= set(where)


def test_no_module_changes_a_setting_another_module_defines() -> None:
    for name, tree in _modules().items():
        own = _defined(tree)
        for node in ast.walk(tree):
            target = None
            if isinstance(node, ast.AugAssign):
                target = node.target
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
                target = node.func.value
            while isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name) and target.id.isupper():
                assert target.id in own, f"settings/{name}.py changes {target.id}, defined elsewhere"


def test_the_environment_is_read_only_in_settings() -> None:
    """os.environ elsewhere only sets a default (DJANGO_SETTINGS_MODULE) or hands the environment to a child."""
    reads = re.compile(r"os\.environ(?!\.setdefault\(|\.items\(\)|\.copy\(\))|os\.getenv|environ\.Env\(")
    passes_on = re.compile(r"dict\(os\.environ\)")
    offenders = []
    for package in APP_PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if path.is_relative_to(SETTINGS_DIR) or path.name == "settings_production.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if reads.search(passes_on.sub("", line)) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "read the environment in facesite/settings instead:\n" + "\n".join(offenders)


def test_composition_keeps_the_orders_that_matter() -> None:
    assert settings.MIDDLEWARE[0] == "django.middleware.security.SecurityMiddleware"
    assert settings.MIDDLEWARE[1] == "facesite.middleware.DatabaseUnavailableMiddleware"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    # Housekeeping tasks are routed before the enrollment queue's wildcard.
    routes = list(settings.CELERY_TASK_ROUTES)
    assert routes.index("recognition.tasks.purge_recycle_bin") < routes.index("recognition.tasks.*")
    assert settings.CELERY_TASK_ROUTES["recognition.tasks.resume_enrollments"] == {"queue": "celery"}
    assert "ordinary_forbidden" in settings.LOGGING["loggers"]["django.request"]["filters"]
    assert "accounts.context_processors.signup" in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    assert {"accounts", "recognition", "attendance", "devices", "integrations", "audit", "axes"} <= set(
        settings.INSTALLED_APPS
    )
    assert set(settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]) == {"WebhookEventTypeEnum", "DeviceKindEnum"}
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"attendance.tasks.purge_expired_evidence", "integrations.tasks.requeue_due_deliveries"} <= beat


def test_local_secret_is_still_importable_from_the_package() -> None:
    from facesite.settings import _local_secret, env

    assert callable(_local_secret) and env("NO_SUCH_VARIABLE_FOR_SURE", default="x") == "x"
