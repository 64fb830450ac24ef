"""/kiosk/: the page a tablet by the door runs. Unpaired, it asks for the pairing code an admin made (or takes
it from the link); paired, it runs full-screen on the device credential in its cookie, not a person's session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices import services
from devices.conf import device_settings
from facesite import ratelimit
from facesite.auth_backends import client_ip

TEN_YEARS_S = 10 * 365 * 24 * 3600  # the credential lasts until revoked; the cookie must not end it first


@require_http_methods(["GET"])
def kiosk_page(request: HttpRequest) -> HttpResponse:
    device = services.kiosk_for_credential(request.COOKIES.get(device_settings().kiosk_cookie))
    if device is None:
        return render(request, "devices/pair.html", {"code": request.GET.get("code", "")})
    return render(request, "devices/kiosk.html", {"device": device})


@require_http_methods(["POST"])
def kiosk_pair(request: HttpRequest) -> HttpResponse:
    # Codes are ~40 bits and live 15 minutes; a per-address limit keeps guessing hopeless.
    if not ratelimit.allow(f"kiosk-pair:{client_ip(request)}", device_settings().kiosk_pair_attempts_per_hour, 3600):
        context = {"error": "Too many pairing attempts from this address; try again in an hour."}
        return render(request, "devices/pair.html", context, status=429)
    paired = services.pair(request.POST.get("code", ""))
    if paired is None:
        context = {"code": request.POST.get("code", ""),
                   "error": "That code is wrong or has expired; ask for a new one."}  # fmt: skip
        return render(request, "devices/pair.html", context, status=400)
    _, credential = paired
    response = redirect("kiosk")
    response.set_cookie(device_settings().kiosk_cookie, credential, max_age=TEN_YEARS_S, httponly=True, samesite="Lax",
                        secure=request.is_secure())  # fmt: skip
    return response
