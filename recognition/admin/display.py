"""Small pieces of HTML the identity admin shows, and Django's intermediate confirmation page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString


def face_thumb(image_id: int, title: str = "", size: int = 48) -> SafeString:
    """A thumbnail through the staff-only image view (never a media URL), linking to the full image."""
    url = reverse("recognition:face_image", args=[image_id])
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img class="face-thumb" src="{}?thumb=1" width="{}" '
        'height="{}" alt="" title="{}" loading="lazy"></a>',
        url, url, size, size, title,
    )  # fmt: skip


def progress_bar(done: int, total: int) -> SafeString:
    percent = 100 if total == 0 else round(100 * done / total)
    return format_html(
        '<span class="batch-bar" title="{} of {} processed"><span style="width: {}%"></span></span> {}%',
        done, total, percent, percent,
    )  # fmt: skip


def objects_page(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, template: str,
                  title: str, action: str, **extra) -> TemplateResponse:  # fmt: skip
    """Django's intermediate-page pattern: a form that posts the same action back with post=yes."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
        **extra,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)


class AdminMedia:
    css = {"all": ["recognition/recognition.css"]}
