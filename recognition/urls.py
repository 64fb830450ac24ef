"""Staff pages of the identity domain (included under /recognition/)."""

from django.urls import path

from recognition.calibration import views as calibration_views
from recognition.enrollment import views

app_name = "recognition"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("batches/<int:pk>/", views.batch, name="batch"),
    path("batches/<int:pk>/progress/", views.batch_progress_json, name="batch_progress"),
    path("images/<int:pk>/", views.face_image, name="face_image"),
    path("calibration/", calibration_views.calibration_page, name="calibration"),
]
