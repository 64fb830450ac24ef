from django.contrib import admin
from django.urls import include, path

from facesite import views
from recognition.live import views as live_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("live/", live_views.live_page, name="live"),
    path("kiosk/", include("devices.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("recognition/", include("recognition.urls")),
    path("attendance/", include("attendance.urls")),
    path("api/", include("facesite.api_urls")),
]
handler500 = "recognition.api.errors.server_error"  # JSON in the API's error shape under /api/, else the page
