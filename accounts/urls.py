"""/accounts/ pages of this app (included before django.contrib.auth.urls, which keeps login, logout and
password change)."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("capture/", views.capture_page, name="capture"),
    path("capture/start/", views.capture_start, name="capture_start"),
    path("capture/frame/", views.capture_frame, name="capture_frame"),
    path("capture/finish/", views.capture_finish, name="capture_finish"),
    path("capture/status/", views.capture_status, name="capture_status"),
    path("profile/", views.profile, name="profile"),
    path("profile/consent/", views.give_consent, name="consent"),
    path("profile/photos/", views.photos_upload, name="photos_upload"),
    path("profile/erase/", views.erase, name="erase"),
    path("profile/token/", views.token_create, name="token_create"),
    path("profile/token/revoke/", views.token_revoke, name="token_revoke"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/remove/", views.photo_remove, name="photo_remove"),
    path("photos/<int:pk>/restore/", views.photo_restore, name="photo_restore"),
]
