"""The authorization matrix: every URL pattern and websocket route x (anonymous, member, other member,
operator, admin) -> the expected answer.

The routes are walked from the URL conf (get_resolver) and facesite.routing, so a new endpoint without a rule
here fails `test_every_route_has_a_rule` with "add a rule for <route>". Object URLs point at member A's
objects; "other" is member B asking for them. Each role's request runs in a savepoint that is rolled back,
so a destructive request (erase, purge, delete) does not change what the next role sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.views import APIView

from tests.security.conftest import ROLES, World

LOGIN = "login"  # 302 to a login page (the site's or the admin's)
ADMIN = "admin"  # the key of the Django admin: one rule for all of it
A_NAME = "Ann Archer"  # member A's person: must never show up in what member B is given


# --- walking the routes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    key: str  # the URL name with its namespace, or the route string when unnamed
    route: str


def walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                yield Route(ADMIN, route)
                continue
            inner = ":".join(p for p in (namespace, pattern.namespace) if p)
            yield from walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            if route.startswith(settings.STATIC_URL.lstrip("/")):
                continue
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield Route(name or route, route)


def http_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def websocket_routes() -> list[str]:
    from facesite.routing import websocket_urlpatterns

    return [str(p.pattern) for p in websocket_urlpatterns]


# --- the rules ----------------------------------------------------------------------------------------------
def same(answer) -> tuple:
    return (answer,) * len(ROLES)


@dataclass
class Rule:
    """Expected answers per method, in ROLES order: anonymous, member (A), other (B), operator, admin."""

    methods: dict[str, tuple]
    kwargs: Callable[[World], dict] | None = None
    data: Callable[[World], dict] | dict = field(default_factory=dict)
    path: str | None = None  # for an unnamed route: the path to request
    hidden_from_other: bool = False  # B's 200 must not contain A's name
    why: str = ""


def person(w: World) -> dict:
    return {"pk": w.person.pk}


def image(w: World) -> dict:
    return {"pk": w.image.pk}


def batch(w: World) -> dict:
    return {"pk": w.batch.pk}


def event(w: World) -> dict:
    return {"pk": w.event.pk}


def subscription(w: World) -> dict:
    from integrations.models import WebhookSubscription

    hook, _ = WebhookSubscription.objects.get_or_create(name="matrix", url="http://127.0.0.1:9/", secret="s" * 16)
    return {"pk": hook.pk}


def delivery(w: World) -> dict:
    from integrations.models import Delivery, WebhookSubscription

    hook = WebhookSubscription.objects.get(pk=subscription(w)["pk"])
    row = Delivery.objects.create(subscription=hook, event_id="00000000-0000-0000-0000-000000000001",
                                  event_type="device.online", payload={}, status="failed")  # fmt: skip
    return {"pk": row.pk}
def kiosk(w: World) -> dict:
    from devices.models import Device, Location

    place = Location.objects.get_or_create(name="Matrix hall")[0]
    return {"pk": Device.objects.get_or_create(name="Matrix kiosk", location=place, kind="kiosk")[0].pk}


def empty_location(w: World) -> dict:
    from devices.models import Location

    return {"pk": Location.objects.get_or_create(name="Matrix annex")[0].pk}


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("notes.txt", b"not a picture", content_type="text/plain")


MEMBERS_ONLY = (LOGIN, 200, 200, 200, 200)
STAFF_PAGE = (LOGIN, 403, 403, 403, 200)  # recognition.enrollment.views.staff_required
API_MEMBERS = (401, 200, 200, 200, 200)
API_STAFF = (401, 403, 403, 403, 200)
API_STAFF_WRITE = (401, 403, 403, 403)

RULES: dict[str, Rule] = {
    # public pages
    "home": Rule({"GET": same(200)}, why="public landing page"),
    "healthz": Rule({"GET": same(200)}, why="public health check: database/queue/pack status only"),
    "login": Rule({"GET": same(200)}),
    "logout": Rule({"GET": same(405), "POST": same(302)}, why="POST only (Django 5)"),
    "password_reset": Rule({"GET": same(200)}),
    "password_reset_done": Rule({"GET": same(200)}),
    "password_reset_confirm": Rule({"GET": same(200)}, kwargs=lambda w: {"uidb64": "MQ", "token": "a-b"}),
    "password_reset_complete": Rule({"GET": same(200)}),
    "accounts:signup": Rule({"GET": (200, 302, 302, 302, 302)}, why="signed-in users go to their profile"),
    # signed-in pages
    "live": Rule({"GET": MEMBERS_ONLY}),
    "password_change": Rule({"GET": MEMBERS_ONLY}),
    "password_change_done": Rule({"GET": MEMBERS_ONLY}),
    "accounts:profile": Rule({"GET": MEMBERS_ONLY}),
    "accounts:consent": Rule({"POST": (LOGIN, 302, 302, 302, 302)}, data={"agree": "on"}),
    "accounts:photos_upload": Rule({"POST": (LOGIN, 302, 302, 302, 302)}),
    "accounts:erase": Rule(
        {"GET": MEMBERS_ONLY, "POST": (LOGIN, 302, 302, 302, 302)},
        data={"confirm": "yes"},
        why="each user erases only their own data",
    ),
    "accounts:token_create": Rule({"GET": same(405), "POST": (LOGIN, 302, 302, 302, 302)}),
    "accounts:token_revoke": Rule({"POST": (LOGIN, 302, 302, 302, 302)}),
    # the webcam capture: consent on record needed (operator and admin have given none)
    "accounts:capture": Rule({"GET": (LOGIN, 200, 200, 302, 302)}),
    "accounts:capture_start": Rule({"GET": same(405), "POST": (403, 200, 200, 403, 403)}),
    "accounts:capture_frame": Rule({"POST": (403, 409, 409, 409, 409)}, why="no capture started"),
    "accounts:capture_finish": Rule({"POST": (403, 409, 409, 409, 409)}),
    "accounts:capture_status": Rule({"POST": (403, 409, 409, 409, 409)}),
    # a member's own photos: anyone else's is a 404 (staff see images through recognition:face_image)
    "accounts:photo": Rule({"GET": (LOGIN, 200, 404, 404, 404)}, kwargs=image),
    "accounts:photo_remove": Rule({"GET": same(405), "POST": (LOGIN, 302, 404, 404, 404)}, kwargs=image),
    "accounts:photo_restore": Rule(
        {"POST": (LOGIN, 302, 404, 404, 404)}, kwargs=lambda w: {"pk": w.deleted_image.pk}
    ),
    # staff pages of the identity domain
    "recognition:upload": Rule({"GET": STAFF_PAGE}),
    "recognition:batch": Rule({"GET": STAFF_PAGE}, kwargs=batch),
    "recognition:batch_progress": Rule({"GET": STAFF_PAGE}, kwargs=batch),
    "recognition:face_image": Rule({"GET": STAFF_PAGE}, kwargs=image),
    "recognition:calibration": Rule(
        {"GET": (LOGIN, LOGIN, LOGIN, LOGIN, 200), "POST": (LOGIN, LOGIN, LOGIN, LOGIN, 302)},
        why="staff_member_required: non-staff go to the admin login",
    ),
    # attendance pages: operators see everyone, a member only themself
    "attendance:today": Rule({"GET": (LOGIN, 302, 302, 200, 200)}, why="members go to their history"),
    "attendance:history": Rule({"GET": MEMBERS_ONLY}, hidden_from_other=True),
    "attendance:export": Rule({"GET": MEMBERS_ONLY}, hidden_from_other=True),
    "attendance:evidence": Rule({"GET": (LOGIN, 200, 404, 200, 200)}, kwargs=event),
    "attendance:report": Rule({"GET": MEMBERS_ONLY}, hidden_from_other=True, why="a member's report is their own"),
    "attendance:report-csv": Rule({"GET": MEMBERS_ONLY}, hidden_from_other=True),
    "attendance:groups": Rule({"GET": (LOGIN, 404, 404, 200, 200)}, why="operators' list of their groups"),
    "attendance:emotions": Rule({"GET": (LOGIN, 404, 404, 200, 200)}, why="members' emotions are off by default"),
    "attendance:board": Rule({"GET": (LOGIN, 404, 404, 200, 200)}, why="the operators' dashboard fragment"),
    "attendance:report-xlsx": Rule({"GET": MEMBERS_ONLY}, hidden_from_other=True),
    "attendance:corrections": Rule(
        {"GET": MEMBERS_ONLY, "POST": (LOGIN, 302, 404, 302, 302)},
        data=lambda w: {"action": "void", "event": w.event.pk, "person": w.person.pk, "reason": "not her"},
        hidden_from_other=True, why="A asks about her event, B may not; operators apply it",
    ),  # fmt: skip
    # the REST API
    "v1:api-token": Rule({"GET": same(405), "POST": same(400)}, why="public: a password gets a token"),
    "v1:api-root": Rule({"GET": API_MEMBERS}),
    "v1:identify": Rule({"POST": (401, 403, 403, 400, 400)}, why="operators name people, members may not"),
    "v1:verify": Rule(
        {"POST": (401, 415, 403, 415, 415)},
        data=lambda w: {"person": w.person.pk, "image": not_an_image()},
        why="a member verifies only against themself (403 before the image is read)",
    ),
    "v1:person-list": Rule(
        {"GET": API_MEMBERS, "POST": (*API_STAFF_WRITE, 201)},
        data={"display_name": "Nu"},
        hidden_from_other=True,
    ),
    "v1:person-detail": Rule(
        {"GET": (401, 200, 404, 200, 200), "DELETE": (*API_STAFF_WRITE, 204)}, kwargs=person
    ),
    "v1:person-images": Rule({"GET": (401, 200, 404, 200, 200)}, kwargs=person),
    "v1:person-image": Rule(
        {"DELETE": (*API_STAFF_WRITE, 204)}, kwargs=lambda w: {"pk": w.person.pk, "image_id": w.image.pk}
    ),
    "v1:person-restore": Rule({"POST": (*API_STAFF_WRITE, 200)}, kwargs=person),
    "v1:person-enrollments": Rule({"GET": API_STAFF, "POST": (*API_STAFF_WRITE, 400)}, kwargs=person),
    "v1:enrollment-list": Rule({"GET": API_STAFF}),
    "v1:enrollment-detail": Rule({"GET": API_STAFF}, kwargs=batch),
    "v1:attendance-list": Rule({"GET": API_MEMBERS}, hidden_from_other=True),
    "v1:attendance-summaries": Rule({"GET": API_MEMBERS}, hidden_from_other=True),
    "v1:attendance-export": Rule({"GET": API_MEMBERS}, hidden_from_other=True),
    "v1:attendance-detail": Rule({"GET": (401, 200, 404, 200, 200)}, kwargs=event),
    "v1:attendance-evidence": Rule({"GET": (401, 200, 404, 200, 200)}, kwargs=event),
    # webhooks: URLs the server calls, so staff only (integrations)
    "v1:webhook-list": Rule(
        {"GET": API_STAFF, "POST": (*API_STAFF_WRITE, 201)},
        data={"name": "n", "url": "http://127.0.0.1:9/", "secret": "s" * 16, "event_types": "device.online"},
    ),
    "v1:webhook-detail": Rule({"GET": API_STAFF, "DELETE": (*API_STAFF_WRITE, 204)}, kwargs=subscription),
    "v1:webhook-delivery-list": Rule({"GET": API_STAFF}),
    "v1:webhook-delivery-detail": Rule({"GET": API_STAFF}, kwargs=delivery),
    "v1:webhook-delivery-resend": Rule({"POST": (*API_STAFF_WRITE, 202)}, kwargs=delivery),
    "v1:attendance-report-list": Rule({"GET": API_MEMBERS}, hidden_from_other=True),
    "v1:attendance-report-days": Rule({"GET": API_MEMBERS}, hidden_from_other=True),
    # places and devices: staff with the model permissions (the admin's); a kiosk is a device, not a person
    "v1:location-list": Rule({"GET": API_STAFF, "POST": (*API_STAFF_WRITE, 201)}, data={"name": "Annex"}),
    "v1:location-detail": Rule({"GET": API_STAFF, "DELETE": (*API_STAFF_WRITE, 204)}, kwargs=empty_location),
    "v1:device-list": Rule({"GET": API_STAFF, "POST": (*API_STAFF_WRITE, 400)}, why="empty form: 400 for staff"),
    "v1:device-detail": Rule({"GET": API_STAFF, "DELETE": (*API_STAFF_WRITE, 204)}, kwargs=kiosk),
    "v1:device-pairing": Rule({"POST": (*API_STAFF_WRITE, 201)}, kwargs=kiosk),
    "v1:device-revoke": Rule({"POST": (*API_STAFF_WRITE, 200)}, kwargs=kiosk),
    "kiosk": Rule({"GET": same(200)}, why="public: without a kiosk credential it is the pairing form"),
    "kiosk-pair": Rule({"GET": same(405), "POST": same(400)}, why="public: only a valid pairing code pairs"),
    "api-schema": Rule({"GET": same(200)}, why="the API's description is public; it holds no data"),
    "api-docs": Rule({"GET": same(200)}),
    "api-redoc": Rule({"GET": same(200)}),
    "api/^.*$": Rule({"GET": same(404)}, path="/api/no-such-endpoint/", why="unknown API paths: JSON 404"),
    # the Django admin as one rule: staff only (its own per-model permissions apply inside)
    ADMIN: Rule({"GET": (LOGIN, LOGIN, LOGIN, LOGIN, 200)}),
}
ADMIN_URLS: list[tuple[str, Callable[[World], dict] | None]] = [
    ("admin:index", None),
    ("admin:recognition_person_changelist", None),
    ("admin:recognition_faceimage_change", lambda w: {"object_id": w.image.pk}),
    ("admin:auth_user_changelist", None),
    ("admin:audit_auditentry_changelist", None),
    ("admin:integrations_delivery_changelist", None),
]

# Websockets: "open" (accepted and kept open) or the close code the consumer sends right after accepting.
WS_RULES: dict[str, tuple] = {
    "ws/health/": same(
        "open"
    ),  # public like /healthz; it tells no more (see test_health_socket_leaks_nothing)
    "ws/live/": (
        4401,
        "open",
        "open",
        "open",
        "open",
    ),  # members see only themselves (LiveStream only_person)
    "ws/attendance/": (4401, 4403, 4403, "open", "open"),
    "ws/kiosk/": same(4401),  # a kiosk device's credential, never a person's session
}


# --- the checks ---------------------------------------------------------------------------------------------
def test_every_route_has_a_rule() -> None:
    missing = sorted(
        {f"add a rule for {r.route} (key {r.key!r})" for r in http_routes() if r.key not in RULES}
    )
    missing += [f"add a rule for websocket {route}" for route in websocket_routes() if route not in WS_RULES]
    assert not missing, "\n".join(missing)


def test_no_rule_without_a_route() -> None:
    keys = {r.key for r in http_routes()}
    assert not sorted(set(RULES) - keys), "rules for routes that no longer exist"
    assert not sorted(set(WS_RULES) - set(websocket_routes()))


def test_every_api_view_declares_its_permissions() -> None:
    """No DRF view falls back on DEFAULT_PERMISSION_CLASSES silently: each class (or a base class of its own,
    of DRF's authtoken or drf-spectacular) sets permission_classes; APIView's own default does not count."""
    silent = [
        f"{route}: {view.__module__}.{view.__qualname__}"
        for route, view in _api_view_classes()
        if not any(k is not APIView and "permission_classes" in vars(k) for k in view.__mro__)
    ]
    assert not silent, "set permission_classes explicitly on:\n" + "\n".join(silent)


def _api_view_classes():
    def visit(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from visit(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                view_class = getattr(pattern.callback, "cls", None) or getattr(
                    pattern.callback, "view_class", None
                )
                if isinstance(view_class, type) and issubclass(view_class, APIView):
                    yield prefix + str(pattern.pattern), view_class

    yield from visit(get_resolver().url_patterns)


def _cases():
    for key, rule in RULES.items():
        for method in rule.methods:
            yield pytest.param(key, method, id=f"{method} {key}")


def _url(key: str, rule: Rule, world: World) -> list[str]:
    if key == ADMIN:
        return [reverse(name, kwargs=kwargs(world) if kwargs else None) for name, kwargs in ADMIN_URLS]
    if rule.path:
        return [rule.path]
    return [reverse(key, kwargs=rule.kwargs(world) if rule.kwargs else None)]


def _answer(response) -> str | int:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith((reverse("login"), reverse("admin:login"))):
            return LOGIN
    return response.status_code


def _body(response) -> bytes:
    """The whole body (a streaming one is read to its end, which also closes its file)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _request(client: Client, method: str, url: str, data) -> object:
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    return client.post(url, data)


@pytest.mark.parametrize(("key", "method"), list(_cases()))
def test_matrix(world: World, key: str, method: str) -> None:
    rule = RULES[key]
    wrong = []
    for url in _url(key, rule, world):
        for role, expected in zip(ROLES, rule.methods[method], strict=True):
            with transaction.atomic():
                client = world.client(role)
                data = rule.data(world) if callable(rule.data) else dict(rule.data)
                response = _request(client, method, url, data)
                got, body = _answer(response), _body(response)
                transaction.set_rollback(True)
            if got != expected:
                wrong.append(f"{method} {url} as {role}: expected {expected}, got {got}")
            elif role == "other" and rule.hidden_from_other and A_NAME.encode() in body:
                wrong.append(f"{method} {url} as other: member A's data in the answer")
    assert not wrong, "\n".join(wrong)


# --- websockets ---------------------------------------------------------------------------------------------
def websocket_app():
    """The websocket side of facesite.asgi (same middleware and routes), without its start-up model check."""
    from facesite.routing import websocket_urlpatterns

    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))


def session_headers(user) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return headers


async def ws_outcome(path: str, headers) -> str | int:
    communicator = WebsocketCommunicator(websocket_app(), path, headers=headers)
    connected, code = await communicator.connect(timeout=10)
    if not connected:
        return f"refused {code}"
    if await communicator.receive_nothing(timeout=0.5):
        await communicator.disconnect()
        return "open"
    message = await communicator.receive_output(timeout=5)
    await communicator.disconnect()
    return message.get("code") if message["type"] == "websocket.close" else f"sent {message['type']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", list(WS_RULES))
def test_websocket_matrix(world: World, route: str) -> None:
    headers = {role: session_headers(world.users[role]) for role in ROLES}

    async def run() -> dict:
        outcomes = {role: await ws_outcome(f"/{route}", headers[role]) for role in ROLES}
        await sync_to_async(connections.close_all)()
        return outcomes

    outcomes = asyncio.run(run())
    wrong = [
        f"{route} as {role}: expected {expected}, got {outcomes[role]}"
        for role, expected in zip(ROLES, WS_RULES[route], strict=True)
        if outcomes[role] != expected
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_health_socket_leaks_nothing_and_limits_each_connection(monkeypatch) -> None:
    """Anyone may use /ws/health/, so it says only what /healthz says; big or rapid messages close it."""
    from facesite import consumers
    from facesite.consumers import HEALTH_MAX_MESSAGE_BYTES

    HEALTH_MAX_PER_SECOND = 2  # low, so a slow status query cannot stretch the burst past one second
    monkeypatch.setattr(consumers, "HEALTH_MAX_PER_SECOND", HEALTH_MAX_PER_SECOND)

    async def run():
        app, headers = websocket_app(), session_headers(None)
        socket = WebsocketCommunicator(app, "/ws/health/", headers=headers)
        assert (await socket.connect(timeout=10))[0]
        await socket.send_json_to({"n": 1})
        reply = await socket.receive_json_from(timeout=10)
        await socket.disconnect()

        big = WebsocketCommunicator(app, "/ws/health/", headers=headers)
        await big.connect(timeout=10)
        await big.send_to(text_data="x" * (HEALTH_MAX_MESSAGE_BYTES + 1))
        big_close = await big.receive_output(timeout=5)

        fast = WebsocketCommunicator(app, "/ws/health/", headers=headers)
        await fast.connect(timeout=10)
        for n in range(HEALTH_MAX_PER_SECOND + 1):
            await fast.send_json_to({"n": n})
        outputs = [await fast.receive_output(timeout=10) for _ in range(HEALTH_MAX_PER_SECOND + 1)]
        await sync_to_async(connections.close_all)()
        return reply, big_close, outputs

    reply, big_close, outputs = asyncio.run(run())
    assert set(reply) == {"echo", "status"} and reply["echo"] == {"n": 1}
    assert set(reply["status"]) == {"database", "queue", "model_pack"}
    assert set(reply["status"]["database"]) <= {"ok", "pgvector", "error"}
    assert set(reply["status"]["model_pack"]) == {"name", "licence"}
    assert (big_close["type"], big_close["code"]) == ("websocket.close", 4413)
    assert [o["type"] for o in outputs[:-1]] == ["websocket.send"] * HEALTH_MAX_PER_SECOND
    assert (outputs[-1]["type"], outputs[-1]["code"]) == ("websocket.close", 4429)
