"""Staff pages of the identity domain: the dataset upload, a batch's live progress, and face images.

Biometric images are never served from a public media URL: `face_image` streams them to staff who may view
face images, and tells every cache not to keep them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from recognition.enrollment.forms import DatasetUploadForm
from recognition.enrollment.image_responses import PRIVATE, face_image_response
from recognition.models import Enrollment, FaceImage
from recognition.selectors import batch_conflicts, batch_progress
from recognition.services.enrollment import start_enrollment, upload_limits
from recognition.uploads import UploadRejected, read_files, read_zip

REJECTED_SHOWN = 500  # rejected images listed on a batch page


def staff_required(permission: str) -> Callable:
    """Staff with `permission` only: anonymous users go to the admin's login page, everyone else gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not (user.is_active and user.is_staff and user.has_perm(permission)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- upload -------------------------------------------------------------------------------------------------
def _primed(items: Iterable) -> Iterator:
    """Read the first item now, so that an upload refused as a whole (not a zip, too many files) is refused
    before a batch exists; the rest is read by the enrollment."""
    iterator = iter(items)
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())
    return itertools.chain([first], iterator)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_http_methods(["GET", "POST"])
@staff_required("recognition.add_enrollment")
def upload(request: HttpRequest) -> HttpResponse:
    form = DatasetUploadForm(request.POST, request.FILES) if request.method == "POST" else DatasetUploadForm()
    if request.method == "POST" and form.is_valid():
        person = form.cleaned_data["person"]
        person_name = person.display_name if person else None
        limits = upload_limits()
        try:
            readers = []
            if form.cleaned_data["folder"]:
                readers.append(
                    _primed(read_files(form.folder_files(), person_name=person_name, limits=limits))
                )
            if form.cleaned_data["archive"]:
                readers.append(
                    _primed(read_zip(form.cleaned_data["archive"], person_name=person_name, limits=limits))
                )
        except UploadRejected as exc:
            form.add_error(None, str(exc))
        else:
            batch = start_enrollment(
                itertools.chain(*readers), source="upload", started_by=request.user, person=person
            )
            url = reverse("recognition:batch", args=[batch.pk])
            return (
                JsonResponse({"redirect": url, "batch": batch.pk}) if _wants_json(request) else redirect(url)
            )
    if request.method == "POST" and _wants_json(request):
        messages = [str(m) for errors in form.errors.values() for m in errors]
        return JsonResponse({"errors": messages}, status=400)
    context = {
        **admin.site.each_context(request),
        "title": "Upload face images",
        "form": form,
        "recent": Enrollment.objects.filter(source="upload").order_by("-created_at")[:5],
    }
    return render(request, "recognition/upload.html", context, status=400 if form.errors else 200)


# --- a batch's progress -------------------------------------------------------------------------------------
def _progress(batch: Enrollment) -> dict:
    rejected = (
        batch.images.filter(status=FaceImage.Status.REJECTED)
        .order_by("pk")
        .values("pk", "original_name", "reject_reason", "person__display_name")[:REJECTED_SHOWN]
    )
    shown = []
    for row in rejected:
        url = reverse("recognition:face_image", args=[row["pk"]])
        shown.append({"id": row["pk"], "file": row["original_name"], "person": row["person__display_name"],
                      "reason": row["reject_reason"], "url": url, "thumbnail": url + "?thumb=1"})  # fmt: skip
    return {
        **batch_progress(batch).as_dict(),
        "finished": batch.state in (Enrollment.State.DONE, Enrollment.State.FAILED),
        "rejected_images": shown,
        "conflicts": [{**c, "url": reverse("admin:recognition_identityconflict_change", args=[c["id"]])}
                      for c in batch_conflicts(batch)],  # fmt: skip
    }


@require_GET
@staff_required("recognition.view_enrollment")
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment.objects.select_related("started_by"), pk=pk)
    context = {
        **admin.site.each_context(request),
        "title": f"Enrollment batch #{enrollment.pk}",
        "batch": enrollment,
        "progress": _progress(enrollment),
    }
    return render(request, "recognition/batch.html", context)


@require_GET
@staff_required("recognition.view_enrollment")
def batch_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    response = JsonResponse(_progress(get_object_or_404(Enrollment, pk=pk)))
    response["Cache-Control"] = PRIVATE
    return response


# --- face images --------------------------------------------------------------------------------------------
@require_GET
@staff_required("recognition.view_faceimage")
def face_image(request: HttpRequest, pk: int) -> HttpResponse:
    image = get_object_or_404(FaceImage, pk=pk)
    return face_image_response(image, thumb=bool(request.GET.get("thumb")))
