from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def api_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def with_recognition_permissions(user):
    """Staff change identities through the API only with the model permissions (as in the admin)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="recognition"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("staffer", password="pw-staff-123", is_staff=True)
    return with_recognition_permissions(user)


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("member", password="pw-member-123")


@pytest.fixture
def operator(django_user_model):
    from django.contrib.auth.models import Group

    from accounts.roles import OPERATOR_GROUP

    user = django_user_model.objects.create_user("kiosk", password="pw-operator-123")
    user.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    return user


@pytest.fixture
def operator_client(operator) -> APIClient:
    return token_client(operator)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def staff_client(staff) -> APIClient:
    return token_client(staff)


@pytest.fixture
def member_client(member) -> APIClient:
    return token_client(member)
