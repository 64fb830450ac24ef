"""The live recognition page: the browser's camera, recognised over a websocket (see consumers.LiveConsumer)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import is_operator


@login_required
def live_page(request: HttpRequest) -> HttpResponse:
    return render(request, "recognition/live.html", {"kiosk": is_operator(request.user)})
