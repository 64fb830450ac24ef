from django.urls import path

from devices import kiosk_views

urlpatterns = [
    path("", kiosk_views.kiosk_page, name="kiosk"),
    path("pair/", kiosk_views.kiosk_pair, name="kiosk-pair"),
]
