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
from daphne import http_protocol  # noqa: E402
from django.conf import settings  # noqa: E402

from facesite.routing import websocket_urlpatterns  # noqa: E402
from recognition.engine.model_store import ModelCorrupt, ModelMissing  # noqa: E402
from recognition.inference import verify_active_models  # noqa: E402
from recognition.live.worker import LiveInferenceConsumer  # noqa: E402


def leave_form_bodies_to_django() -> None:
    """daphne's Twisted request parses every multipart POST body itself, only to fill request.args (which daphne
    never reads), and answers a body it cannot parse (an empty form: just the closing boundary) with a bare 400:
    no Content-Type, no body, not the API's JSON error, before Django sees the request. Twisted's own switch for
    that parsing (parsePOSTFormSubmission) turns it off; Django then parses every body, once. Another ASGI server
    is not affected."""
    if getattr(http_protocol.WebRequest, "leaves_forms_to_django", False):
        return

    class WebRequest(http_protocol.WebRequest):
        leaves_forms_to_django = True

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    http_protocol.WebRequest = WebRequest  # HTTPFactory.buildProtocol reads this name for each connection


leave_form_bodies_to_django()

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
