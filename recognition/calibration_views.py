"""Staff page: the gallery's calibration (histograms, EER, TAR at FAR) and applying the proposed threshold.

Routes (the lead adds them to recognition/urls.py or facesite/urls.py):
    path("recognition/calibration/", calibration_views.calibration_page, name="recognition-calibration"),
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from recognition.admin_calibration import histogram_svg
from recognition.engine.model_store import PACKS
from recognition.inference import active_pack
from recognition.services import calibration

TARGETS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
THRESHOLD_PERMISSION = "recognition.change_threshold"


def _choice(request: HttpRequest) -> tuple[str, float]:
    data = request.POST if request.method == "POST" else request.GET
    pack = data.get("pack") or active_pack().name
    if pack not in PACKS:
        pack = active_pack().name
    try:
        target = float(data.get("target_far", calibration.DEFAULT_TARGET_FAR))
    except ValueError:
        target = calibration.DEFAULT_TARGET_FAR
    return pack, target if target in TARGETS else calibration.DEFAULT_TARGET_FAR


@staff_member_required
@require_http_methods(["GET", "POST"])
def calibration_page(request: HttpRequest) -> HttpResponse:
    pack, target = _choice(request)
    result = calibration.calibrate(pack, target_far=target)
    enough = result.genuine.size > 0 and result.impostor.size > 0
    may_apply = request.user.has_perm(THRESHOLD_PERMISSION)
    if request.method == "POST":
        if not may_apply:
            raise PermissionDenied("changing the match threshold needs the “change the match threshold” permission")
        if not enough:
            messages.error(request, "Not enough enrolled images to calibrate; nothing was changed.")
        else:
            calibration.apply_threshold(pack, result.proposed_threshold, user=request.user)
            messages.success(request, f"Threshold of the {pack} pack set to {result.proposed_threshold:.4f}.")
        return HttpResponseRedirect(f"{request.path}?pack={pack}&target_far={target:g}")
    context = {
        **admin.site.each_context(request),
        "title": "Match threshold calibration",
        "result": result,
        "enough": enough,
        "may_apply": may_apply,
        "pack": pack,
        "packs": sorted(PACKS),
        "targets": [(f"{t:g}", t == target) for t in TARGETS],
        "tar_rows": [(far, None if tar is None else 100 * tar) for far, tar in result.tar_at_far.items()],
        "eer_percent": 100 * result.eer if enough else None,
        "stranger_percent": 100 * result.stranger_accept_rate,
        "chart": mark_safe(  # built from numbers only (recognition.admin_calibration)
            histogram_svg(
                result.genuine,
                result.impostor,
                current=result.current_threshold,
                proposed=result.proposed_threshold,
            )
        )
        if enough
        else "",
    }
    return render(request, "recognition/calibration.html", context)
