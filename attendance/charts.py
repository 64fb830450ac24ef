"""Server-side SVG charts, pure: a stacked bar per day (present / late / absent). No script, no CDN; the text
is escaped, and the colours come from the page's CSS classes so a theme can change them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

SERIES = (("present", "present"), ("late", "late"), ("absent", "absent"))


@dataclass(frozen=True)
class DayCounts:
    day: date
    present: int  # came on time (present, early exit or half day)
    late: int
    absent: int


def stacked_days_svg(days: Sequence[DayCounts], *, width: int = 560, height: int = 180, title: str = "") -> str:
    """One bar per day, present at the bottom, then late, then absent, scaled to the busiest day; a legend and
    every bar's figures in a <title> (a tooltip and what a screen reader reads)."""
    pad_left, pad_bottom, pad_top = 28, 22, 22
    plot_h = height - pad_bottom - pad_top
    top = max((d.present + d.late + d.absent for d in days), default=0) or 1
    slot = (width - pad_left) / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title or "attendance per day")}">',
        f'<text class="axis" x="0" y="{pad_top + 4}">{top}</text>',
        f'<text class="axis" x="0" y="{height - pad_bottom}">0</text>',
    ]
    for i, d in enumerate(days):
        x = pad_left + i * slot + (slot - bar) / 2
        y = height - pad_bottom
        label = f"{d.day:%a %d %b}: {d.present} present, {d.late} late, {d.absent} absent"
        parts.append(f'<g class="day" data-day="{d.day.isoformat()}"><title>{escape(label)}</title>')
        for key, _ in SERIES:
            value = getattr(d, key)
            if value:
                h = plot_h * value / top
                y -= h
                parts.append(f'<rect class="{key}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
        if (len(days) - 1 - i) % 2 == 0 or len(days) <= 7:  # every other day, the last (today) labelled
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 6}">{d.day:%d.%m}</text>')
    for n, (key, label) in enumerate(SERIES):
        parts.append(f'<rect class="{key}" x="{pad_left + n * 90}" y="4" width="10" height="10"/>'
                     f'<text class="axis" x="{pad_left + n * 90 + 14}" y="13">{escape(label)}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


# --- emotion shares over time ---------------------------------------------------------------------------------
EMOTION_ORDER = ("happy", "neutral", "surprise", "sad", "angry", "fear", "disgust", "uncertain", "unknown")


@dataclass(frozen=True)
class ShareBucket:
    label: str  # e.g. "09:00"
    counts: dict[str, int]  # emotion -> faces; "uncertain" as the model said it, "unknown" for no label


def emotion_shares_svg(buckets: Sequence[ShareBucket], *, width: int = 640, height: int = 200, title: str = "") -> str:
    """100% stacked bars: each bucket's share of each emotion, "uncertain" drawn as its own hatched-grey band so
    it is never read as an emotion. Each bar's <title> gives the counts."""
    pad_left, pad_bottom, pad_top = 8, 22, 24
    plot_h = height - pad_bottom - pad_top
    slot = (width - pad_left) / max(len(buckets), 1)
    bar = max(slot * 0.8, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart emotions" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title or "emotion shares")}">'
    ]
    for i, bucket in enumerate(buckets):
        total = sum(bucket.counts.values())
        x = pad_left + i * slot + (slot - bar) / 2
        described = ", ".join(f"{k} {bucket.counts[k]}" for k in EMOTION_ORDER if bucket.counts.get(k)) or "no faces"
        parts.append(f'<g class="bucket"><title>{escape(bucket.label + ": " + described)}</title>')
        y = pad_top + plot_h
        for key in EMOTION_ORDER:
            value = bucket.counts.get(key, 0)
            if value and total:
                h = plot_h * value / total
                y -= h
                parts.append(f'<rect class="e-{key}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
        if len(buckets) <= 12 or i % max(1, len(buckets) // 12) == 0:
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 6}">{escape(bucket.label)}</text>')
    for n, key in enumerate(EMOTION_ORDER):
        parts.append(f'<rect class="e-{key}" x="{pad_left + n * 70}" y="4" width="10" height="10"/>'
                     f'<text class="axis" x="{pad_left + n * 70 + 13}" y="13">{key}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
