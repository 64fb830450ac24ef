"""Websocket routes of the whole platform; each app adds its own consumers here."""

from django.urls import path

from facesite.consumers import HealthConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
]
