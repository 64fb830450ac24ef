"""Staff page: the stored calibration of a pack (histograms, EER, TAR at FAR), asking for a new one, and applying
the threshold of the run shown. A GET never computes: calibration runs as a task (recognition.services.calibration).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from recognition.calibration.chart import stored_histogram_svg
from recognition.engine.model_store import PACKS
from recognition.inference import active_pack
from recognition.models import CalibrationRun
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
    may_apply = request.user.has_perm(THRESHOLD_PERMISSION)
    if request.method == "POST":
        if not may_apply:
            raise PermissionDenied("calibrating the match threshold needs the “change the match threshold” permission")
        if request.POST.get("run"):
            _apply(request, request.POST["run"])
        else:
            calibration.request_calibration(pack, target_far=target, user=request.user)
            messages.info(request, f"Calibration of the {pack} pack queued; this page shows it when it is done.")
        return HttpResponseRedirect(f"{request.path}?pack={pack}&target_far={target:g}")
    run = calibration.latest_run(pack, target)
    done = run is not None and run.status == CalibrationRun.Status.DONE
    figures = run.figures if done else {}
    context = {
        **admin.site.each_context(request),
        "title": "Match threshold calibration",
        "run": run,
        "done": done,
        "enough": done and run.enough,
        "may_apply": may_apply,
        "pack": pack,
        "packs": sorted(PACKS),
        "targets": [(f"{t:g}", t == target) for t in TARGETS],
        "target": f"{target:g}",
        "tar_rows": [(far, None if tar is None else 100 * tar) for far, tar in figures.get("tar_at_far", {}).items()],
        "eer_percent": None if figures.get("eer") is None else 100 * figures["eer"],
        "stranger_percent": 100 * figures.get("stranger_accept_rate", 0.0),
        "chart": mark_safe(  # built from numbers only (recognition.calibration.chart)
            stored_histogram_svg(run.histogram, current=run.current_threshold, proposed=run.proposed_threshold)
        )
        if done and run.enough
        else "",
    }
    return render(request, "recognition/calibration.html", context)


def _apply(request: HttpRequest, run_id: str) -> None:
    if not run_id.isdigit():
        raise Http404("no such calibration")
    run = get_object_or_404(CalibrationRun, pk=int(run_id))
    try:
        calibration.apply_calibration(run.pk, user=request.user)
    except calibration.NotCalibrated:
        messages.error(request, "That calibration has no threshold to apply; nothing was changed.")
        return
    messages.success(request, f"Threshold of the {run.pack} pack set to {run.proposed_threshold:.4f}.")
