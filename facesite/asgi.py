"""ASGI entry point: HTTP through Django, websockets through Channels (session-authenticated), and the channels
that Channels workers serve."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
django_asgi_app = get_asgi_application()  # set up Django before importing consumers

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from facesite.routing import websocket_urlpatterns  # noqa: E402
from recognition.engine.model_store import ModelCorrupt, ModelMissing  # noqa: E402
from recognition.inference import verify_active_models  # noqa: E402
from recognition.live_worker import LiveInferenceConsumer  # noqa: E402

# A corrupt or missing model file stops the server here, with one line naming it, not in a request later.
try:
    verify_active_models()
except (ModelMissing, ModelCorrupt) as exc:
    print(f"facesite cannot start: {exc}", file=sys.stderr)
    raise SystemExit(1) from None

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        # `manage.py runworker <name>`: live inference off the web servers (LIVE_INFERENCE_CHANNELS).
        "channel": ChannelNameRouter(
            {name: LiveInferenceConsumer.as_asgi() for name in settings.LIVE_INFERENCE_CHANNELS}
        ),
    }
)
