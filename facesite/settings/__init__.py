"""Settings, read once from environment variables with defaults that work on one machine, one module per concern.

Environment variables are read only in this package (and facesite/settings_production.py); other modules take
what they need from django.conf.settings, an app with many settings through its own conf module
(accounts/conf.py, attendance/conf.py, devices/conf.py, integrations/conf.py). Every variable read here is
listed in README.md ("Configuration"). Each setting is defined in exactly one module, which imports what it
builds on from its neighbours (so the order below is only for reading; nothing is patched after the fact):

    paths        where state lives (var/, media, model weights), the environment reader, local secrets
    base         applications, middleware, templates, static files, serving address, the first admin
    security     SECRET_KEY, hosts, CSRF origins, login throttling (axes), trusted proxies
    database     the embedded or external PostgreSQL, its connection pool, outages
    services     Redis, Celery, Channels
    api          DRF (authentication, paging, errors, rate limits) and the OpenAPI schema
    recognition  model pack, inference, enrollment and its workers, live recognition, calibration
    accounts     sign-up, liveness, consent
    attendance   cooldowns, check-outs, evidence, erasure
    devices      kiosks and IP cameras
    integrations webhooks, MQTT, unknown faces
    retention    retention, backups, the Celery beat schedule
    logs         logging
"""

from facesite.settings.accounts import *  # noqa: F403
from facesite.settings.api import *  # noqa: F403
from facesite.settings.attendance import *  # noqa: F403
from facesite.settings.base import *  # noqa: F403
from facesite.settings.database import *  # noqa: F403
from facesite.settings.devices import *  # noqa: F403
from facesite.settings.integrations import *  # noqa: F403
from facesite.settings.logs import *  # noqa: F403
from facesite.settings.paths import *  # noqa: F403
from facesite.settings.paths import _local_secret, env  # noqa: F401  (settings_production and tests use them)
from facesite.settings.recognition import *  # noqa: F403
from facesite.settings.retention import *  # noqa: F403
from facesite.settings.security import *  # noqa: F403
from facesite.settings.services import *  # noqa: F403
