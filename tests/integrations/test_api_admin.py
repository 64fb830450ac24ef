"""Subscriptions and deliveries through the REST API and the admin: staff only, the secret write-only, URLs
that are not http(s) refused, a delivery sent again from either."""

from __future__ import annotations

import pytest

from integrations.models import Delivery, WebhookSubscription
from tests.attendance.factories import make_user
from tests.integrations.conftest import SECRET, device, subscribe
from tests.support.users import api_client

pytestmark = pytest.mark.django_db


def test_staff_subscribe_through_the_api_and_never_see_the_secret_again(staff) -> None:
    answer = api_client(staff).post("/api/v1/webhooks/", {
        "name": "door system", "url": "https://doors.example.test/hook", "secret": SECRET,
        "event_types": ["device.offline", "attendance.created"],
    }, format="json")  # fmt: skip
    assert answer.status_code == 201, answer.json()
    assert "secret" not in answer.json()
    assert answer.json()["event_types"] == ["attendance.created", "device.offline"]
    subscription = WebhookSubscription.objects.get()
    assert (subscription.secret, subscription.created_by) == (SECRET, staff)
    listed = api_client(staff).get("/api/v1/webhooks/").json()["results"]
    assert [row["name"] for row in listed] == ["door system"] and "secret" not in listed[0]


@pytest.mark.parametrize("body", [
    {"url": "file:///etc/passwd"}, {"url": "gopher://127.0.0.1:70/"}, {"url": "ftp://example.test/"},
    {"secret": "short"}, {"secret": ""}, {"event_types": []}, {"event_types": ["no.such.event"]},
])  # fmt: skip
def test_the_api_refuses_bad_subscriptions(staff, body: dict) -> None:
    valid = {"name": "n", "url": "http://127.0.0.1:9/hook", "secret": SECRET, "event_types": ["device.online"]}
    answer = api_client(staff).post("/api/v1/webhooks/", {**valid, **body}, format="json")
    assert answer.status_code == 400, answer.json()
    assert not WebhookSubscription.objects.exists()


def test_only_staff_may_use_the_webhook_api(db) -> None:
    operator, member = make_user("olga", operator=True), make_user("mia")
    body = {"name": "n", "url": "http://127.0.0.1:9/", "secret": SECRET, "event_types": ["device.online"]}
    assert api_client().get("/api/v1/webhooks/").status_code == 401
    for user in (operator, member):
        assert api_client(user).post("/api/v1/webhooks/", body, format="json").status_code == 403
        assert api_client(user).get("/api/v1/webhook-deliveries/").status_code == 403
    assert not WebhookSubscription.objects.exists()


def test_a_delivery_is_listed_and_sent_again_through_the_api(
    staff, receiver, django_capture_on_commit_callbacks
) -> None:
    from integrations.signals import device_status_changed

    subscription = subscribe(receiver.url, "device.offline")
    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=False)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and "refused" in delivery.last_error.lower()

    rows = api_client(staff).get(f"/api/v1/webhook-deliveries/?subscription={subscription.pk}&status=pending").json()
    assert [r["id"] for r in rows["results"]] == [delivery.pk]
    receiver.start()
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client(staff).post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/")
    assert answer.status_code == 202
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.accepted)) == ("delivered", 1, 1)


def test_the_schema_describes_the_webhook_api(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    assert {"/api/v1/webhooks/", "/api/v1/webhooks/{id}/", "/api/v1/webhook-deliveries/",
            "/api/v1/webhook-deliveries/{id}/resend/"} <= set(schema["paths"])  # fmt: skip
    components = schema["components"]["schemas"]
    assert "secret" in components["WebhookSubscriptionRequest"]["properties"]  # sent
    assert "secret" not in components["WebhookSubscription"]["properties"]  # never answered


def test_the_admin_makes_a_secret_shows_it_once_and_resends(staff_client, receiver,
                                                          django_capture_on_commit_callbacks) -> None:  # fmt: skip
    client = staff_client
    answer = client.post("/admin/integrations/webhooksubscription/add/", {
        "name": "doors", "url": receiver.url, "event_types": ["device.online"], "enabled": "on", "secret": "",
    }, follow=True)  # fmt: skip
    subscription = WebhookSubscription.objects.get()
    assert len(subscription.secret) >= 32 and subscription.secret.encode() in answer.content  # shown once
    page = client.get(f"/admin/integrations/webhooksubscription/{subscription.pk}/change/")
    assert page.status_code == 200 and subscription.secret.encode() not in page.content  # never again
    assert client.post("/admin/integrations/webhooksubscription/add/", {
        "name": "bad", "url": "file:///etc/passwd", "event_types": ["device.online"], "secret": "",
    }).status_code == 200 and WebhookSubscription.objects.count() == 1  # fmt: skip

    from integrations.signals import device_status_changed

    with django_capture_on_commit_callbacks(execute=True):
        device_status_changed.send(sender=object, device=device(), online=True)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"  # refused: nothing listens yet
    receiver.secret = subscription.secret
    receiver.start()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/integrations/delivery/", {"action": "send_again", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and receiver.accepted[0]["body"]["type"] == "device.online"
