"""Websocket routes of the whole platform; each app adds its own consumers here."""

from django.urls import path

from attendance.consumers import AttendanceConsumer
from devices.kiosk_consumer import KioskConsumer
from facesite.consumers import HealthConsumer
from recognition.live.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/attendance/", AttendanceConsumer.as_asgi()),
    path("ws/kiosk/", KioskConsumer.as_asgi()),
]
