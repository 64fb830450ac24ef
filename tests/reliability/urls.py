"""The platform's URLs plus views that fail the way an unreachable database makes them fail."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


def connection_refused(request):
    raise OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed')


def connection_closed(request):
    raise InterfaceError("connection already closed")


def writes_the_session(request):
    request.session["seen"] = True  # saved by SessionMiddleware after the view returned
    return HttpResponse("ok")


def a_bug(request):
    raise ZeroDivisionError("not a database problem")


class ApiRefused(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        raise OperationalError("the database system is shutting down")


urlpatterns = [
    path("test/refused/", connection_refused),
    path("test/closed/", connection_closed),
    path("test/session/", writes_the_session),
    path("test/bug/", a_bug),
    path("api/test/refused/", ApiRefused.as_view()),
    path("", include("facesite.urls")),
]
