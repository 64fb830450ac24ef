"""The platform's ASGI application plus the attendance routes the lead adds to facesite/urls.py and
facesite/routing.py, so the browser test runs before those lines exist (and after: nothing routed twice)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = "tests.attendance.urls"

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402

from attendance.consumers import AttendanceConsumer  # noqa: E402
from facesite.routing import websocket_urlpatterns  # noqa: E402

routes = list(websocket_urlpatterns)
if "ws/attendance/" not in {str(route.pattern) for route in routes}:
    routes.append(path("ws/attendance/", AttendanceConsumer.as_asgi()))

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(routes))),
    }
)
