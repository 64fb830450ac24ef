"""Accounts pages: sign-up, the webcam capture (JSON endpoints), the profile and what a member does there.

Who is capturing: right after sign-up the new account is NOT logged in; its id waits in the session
("pending sign-up") and only the capture endpoints accept it. The account is logged in when its photos are
enrolled, so a half-finished sign-up never has a logged-in session (it can log in later with its password and
finish from the profile). A logged-in user captures as themselves (more photos, or a new set).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import capture, selectors, services
from accounts.conf import account_settings
from accounts.forms import ConsentForm, PhotoUploadForm, SignUpForm
from facesite import ratelimit
from facesite.auth_backends import client_ip
from recognition.enrollment.image_responses import face_image_response
from recognition.services.enrollment import upload_limits
from recognition.uploads import UploadRejected, read_files

PENDING = "accounts.signup_user"  # session: id of a signed-up account whose photos are not enrolled yet
CAPTURE = "accounts.capture"  # session: the CaptureState of the running capture
NEW_TOKEN = "accounts.new_token"  # session: an API token just created, shown once


# --- sign-up ------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    conf = account_settings()
    if not conf.signup_open:
        raise Http404("sign-up is closed on this site")
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    if request.method == "POST" and not ratelimit.allow(
        f"signup:{client_ip(request)}", conf.signup_attempts_per_hour, 3600
    ):  # fmt: skip
        context = {"form": SignUpForm(), "seconds": conf.signup_capture_seconds,
                   "throttled": "Too many sign-up attempts from your address. Try again in an hour."}  # fmt: skip
        return render(request, "accounts/signup.html", context, status=429)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.sign_up(username=data["username"], email=data["email"], name=data["first_name"],
                                password=data["password1"])  # fmt: skip
        request.session.cycle_key()  # a new account gets a new session id
        request.session[PENDING] = user.pk
        return redirect("accounts:capture")
    context = {"form": form, "seconds": conf.signup_capture_seconds}
    return render(request, "accounts/signup.html", context, status=400 if form.errors else 200)


# --- capture ------------------------------------------------------------------------------------------------
def _capture_user(request: HttpRequest):
    if request.user.is_authenticated:
        return request.user
    pending = request.session.get(PENDING)
    if pending is None:
        return None
    return get_user_model().objects.filter(pk=pending, is_active=True).first()


def capture_endpoint(*, started: bool = True) -> Callable:
    """A JSON endpoint of the capture: the capturing user (logged in, or the pending sign-up) or 403; with
    `started`, the capture's state from the session (begun for this user) or 409. CaptureError answers 400,
    ConsentRequired 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = _capture_user(request)
            if user is None:
                return JsonResponse({"error": "log in or sign up first"}, status=403)
            state = None
            if started:
                raw = request.session.get(CAPTURE)
                state = capture.CaptureState.from_dict(raw) if raw else None
                if state is None or state.user_id != user.pk:
                    return JsonResponse({"error": "no capture started; press Start"}, status=409)
            try:
                response = view(request, user, state, *args, **kwargs)
            except services.ConsentRequired as exc:
                return JsonResponse({"error": str(exc)}, status=403)
            except capture.CaptureError as exc:
                return JsonResponse({"error": str(exc)}, status=400)
            response["Cache-Control"] = "private, no-store"
            return response

        return wrapped

    return decorator


def _default_mode(user) -> str:
    person = services.person_for_user(user, create=False)
    if person is None:
        return "signup"
    enrolled = services.own_images(user).filter(status="enrolled").count()
    return "signup" if enrolled < account_settings().signup_min_photos else "add"


@require_GET
def capture_page(request: HttpRequest) -> HttpResponse:
    user = _capture_user(request)
    if user is None:
        return redirect(f"{reverse('login')}?next={request.path}")
    if services.active_consent(user) is None:
        messages.info(request, "Please give your consent before photos are taken.")
        return redirect("accounts:profile")
    mode = request.GET.get("mode") if request.user.is_authenticated else None
    mode = mode if mode in capture.MODES else _default_mode(user)
    conf = account_settings()
    config = {
        "mode": mode,
        "seconds": conf.signup_capture_seconds,
        "intervalMs": conf.signup_frame_interval_ms,
        "livenessIntervalMs": conf.liveness_frame_interval_ms,
        "livenessSeconds": conf.liveness_timeout_s,
        "urls": {
            name: reverse(f"accounts:capture_{name}") for name in ("start", "frame", "finish", "status")
        },  # fmt: skip
    }
    context = {"mode": mode, "config": config, "pending": not request.user.is_authenticated,
               "photos": conf.signup_photos, "liveness": conf.liveness_required}  # fmt: skip
    return render(request, "accounts/capture.html", context)


def _save(request: HttpRequest, state: capture.CaptureState) -> None:
    request.session[CAPTURE] = state.as_dict()


def _round(state: capture.CaptureState) -> dict:
    return {"wanted": state.wanted, "minimum": state.minimum, "count": state.count,
            "instruction": capture.next_instruction(state), "liveness": capture.liveness_progress(state)}  # fmt: skip


@require_POST
@capture_endpoint(started=False)
def capture_start(request: HttpRequest, user, state) -> JsonResponse:
    mode = request.POST.get("mode", "signup")
    if not request.user.is_authenticated:
        mode = "signup"
    state = capture.start_capture(user, mode)
    _save(request, state)
    return JsonResponse(_round(state))


@require_POST
@capture_endpoint()
def capture_frame(request: HttpRequest, user, state) -> JsonResponse:
    now = time.time()
    conf = account_settings()
    interval_ms = conf.signup_frame_interval_ms if state.live else conf.liveness_frame_interval_ms
    if now - state.last_frame_at < interval_ms / 2000:
        return JsonResponse({"error": "frames are coming too fast"}, status=429)
    upload = request.FILES.get("frame")
    if upload is None:
        return JsonResponse({"error": "send the frame as the multipart field `frame`"}, status=400)
    if upload.size > conf.signup_max_frame_bytes:
        return JsonResponse({"error": "frame too large"}, status=413)
    state.last_frame_at = now
    services.require_consent(user)  # every frame: consent withdrawn from another session stops this one
    verdict = capture.offer_frame(state, upload.read())
    if verdict.kept and services.active_consent(user) is None:  # withdrawn while this frame was analysed
        capture.discard_pending(user)
        raise services.ConsentRequired("consent to biometric processing was withdrawn")
    _save(request, state)
    reply = verdict.as_dict()
    if not verdict.kept:
        reply["why_so_few"] = [{"reason": r, "count": n} for r, n in capture.refusal_summary(state)]
    return JsonResponse(reply)


@require_POST
@capture_endpoint()
def capture_finish(request: HttpRequest, user, state) -> JsonResponse:
    batch = capture.finish_capture(user, state)
    _save(request, state)
    return JsonResponse({"batch": batch.pk, "count": state.count})


@require_POST
@capture_endpoint()
def capture_status(request: HttpRequest, user, state) -> JsonResponse:
    outcome = capture.capture_outcome(user, state)
    reply = outcome.as_dict()
    if outcome.ok:
        request.session.pop(CAPTURE, None)
        if not request.user.is_authenticated:
            request.session.pop(PENDING, None)
            # ModelBackend, not AUTHENTICATION_BACKENDS[0] (the login throttle, which cannot load users)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        reply["redirect"] = reverse("accounts:profile")
    elif outcome.finished and not outcome.held:  # too few enrolled: a new round (earlier enrolled ones count)
        state = capture.start_capture(user, state.mode)
        _save(request, state)
        reply["retry"] = _round(state)
    return JsonResponse(reply)


# --- profile ------------------------------------------------------------------------------------------------
@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    conf = account_settings()
    context = {
        "profile": selectors.profile(request.user),
        "new_token": request.session.pop(NEW_TOKEN, None),
        "consent_form": ConsentForm(),
        "upload_form": PhotoUploadForm(),
        "consent_text": conf.consent_text,
        "min_photos": conf.signup_min_photos,
        "retention_days": conf.recycle_bin_retention_days,
    }
    response = render(request, "accounts/profile.html", context)
    response["Cache-Control"] = "private, no-store"  # it may show a fresh API token
    return response


@require_POST
@login_required
def give_consent(request: HttpRequest) -> HttpResponse:
    if ConsentForm(request.POST).is_valid():
        services.record_consent(request.user)
        return redirect("accounts:capture")
    messages.error(request, "Tick “I agree” to give your consent.")
    return redirect("accounts:profile")


@require_GET
@login_required
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the user's OWN face images (?thumb=1: a small JPEG around the face); anyone else's is a 404."""
    image = get_object_or_404(services.own_images(request.user), pk=pk)
    return face_image_response(image, thumb=bool(request.GET.get("thumb")))


@require_POST
@login_required
def photo_remove(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.remove_own_photo(request.user, pk):
        raise Http404("no such photo of yours")
    messages.success(request, "Photo moved to the recycle bin: it is no longer used to recognise you.")
    return redirect(reverse("accounts:profile") + "#photos")


@require_POST
@login_required
def photo_restore(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.restore_own_photo(request.user, pk):
        raise Http404("no such photo of yours in the recycle bin")
    messages.success(request, "Photo restored.")
    return redirect(reverse("accounts:profile") + "#photos")


@require_POST
@login_required
def photos_upload(request: HttpRequest) -> HttpResponse:
    form = PhotoUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("photos", []):
            messages.error(request, error)
        return redirect(reverse("accounts:profile") + "#photos")
    person = services.person_for_user(request.user)
    files = [(f.name, f) for f in form.cleaned_data["photos"]]
    try:
        batch = services.upload_own_photos(
            request.user, read_files(files, person_name=person.display_name, limits=upload_limits())
        )
    except services.ConsentRequired as exc:
        messages.error(request, str(exc))
    except UploadRejected as exc:
        messages.error(request, str(exc))
    else:
        stored, refused = batch.images.count(), len(batch.errors)
        text = f"{stored} photo{'s' if stored != 1 else ''} received"
        messages.success(request, text + (f"; {refused} refused (see below)." if refused else "."))
    return redirect(reverse("accounts:profile") + "#photos")


@require_http_methods(["GET", "POST"])
@login_required
def erase(request: HttpRequest) -> HttpResponse:
    """Withdraw consent and delete my biometric data, after a confirmation page."""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        erasure = services.withdraw_consent(request.user)
        request.session.pop(CAPTURE, None)
        what = "anonymised" if erasure.anonymised else "kept without face crops"
        messages.success(request, f"Your biometric data is deleted: {erasure.images} photos and their face "
                                  f"templates. Attendance records: {what}.")  # fmt: skip
        return redirect("accounts:profile")
    context = {"profile": selectors.profile(request.user),
               "anonymise": account_settings().anonymise_on_erasure}  # fmt: skip
    return render(request, "accounts/erase.html", context)


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    request.session[NEW_TOKEN] = services.create_api_token(request.user)
    return redirect(reverse("accounts:profile") + "#api-token")


@require_POST
@login_required
def token_revoke(request: HttpRequest) -> HttpResponse:
    if services.revoke_api_token(request.user):
        messages.success(request, "API token revoked: it no longer works.")
    return redirect(reverse("accounts:profile") + "#api-token")
