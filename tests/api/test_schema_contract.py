"""The API keeps its published schema: schemathesis generates requests from /api/schema/ (drf-spectacular) and
sends them to the real app (WSGI, in process) with a real database, and every answer must match the schema:
documented status codes, JSON error bodies in the one shape, response bodies valid against their serializers,
no 5xx, invalid requests refused, valid ones taken.

Bounded and reproducible: a fixed seed, deterministic generation, a few examples per operation, no example
database. Operations that need real face images (identify, verify, enrollments) are exercised for their error
paths: a valid-looking upload of random bytes is rightly a 400/415, so for them those statuses count as accepted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from recognition.models import Person

# Valid by the schema but refused for what a schema cannot say: an image that decodes and shows a face; a date
# range that is not reversed and at most 366 days long.
CONFIG = SchemathesisConfig.from_str(
    """
seed = 15

[generation]
max-examples = 8
deterministic = true
database = "none"

[phases.stateful]
enabled = false

[[operations]]
include-path-regex = "/(identify|verify|persons/[{]id[}]/enrollments)/$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 413, 415, 429]

[[operations]]
include-path-regex = "/attendance(-reports)?/(summaries/|export/|days/)?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 429]
"""
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)
FUZZ = settings(suppress_health_check=list(HealthCheck), deadline=None)


@pytest.fixture(autouse=True)
def one_connection(db) -> Iterator[None]:
    """The test's connection stays open across requests (as Django's test client arranges): the WSGI handler
    would close it at the end of each request, inside the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(staff) -> str:
    Person.objects.create(display_name="Zoë Li", slug="zoë-li")  # a Unicode slug, answered as published
    return Token.objects.create(user=staff).key


@pytest.fixture
def member_token(member) -> str:
    Person.objects.create(display_name="member", slug="member", user=member)
    return Token.objects.create(user=member).key


def call(case, token: str) -> None:
    cache.clear()  # the throttles count per cache; a generated run is not a burst of one client
    case.call_and_validate(headers={"Authorization": f"Token {token}"})


@schema.parametrize()
@FUZZ
def test_the_api_keeps_its_schema_for_staff(case, staff_token):
    call(case, staff_token)


@schema.parametrize()
@FUZZ
def test_the_api_keeps_its_schema_for_a_member(case, member_token):
    call(case, member_token)
