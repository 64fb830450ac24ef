"""The calibration chart: genuine and impostor score histograms as an inline SVG, thresholds drawn on it."""

from __future__ import annotations

from html import escape

import numpy as np

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 44
GENUINE, IMPOSTOR, CURRENT, PROPOSED = "#2e7d32", "#c62828", "#1565c0", "#ef6c00"


def _x(value: float, lo: float, hi: float) -> float:
    return LEFT + (value - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)


def _y(share: float, top: float) -> float:
    return HEIGHT - BOTTOM - share / top * (HEIGHT - TOP - BOTTOM)


def histogram_svg(
    genuine: np.ndarray,
    impostor: np.ndarray,
    *,
    current: float | None = None,
    proposed: float | None = None,
    bins: int = 60,
) -> str:
    """Both distributions as shares of their own scores (so 100 genuine and 10,000 impostor scores are
    comparable), on one cosine-similarity axis, with the current (solid) and proposed (dashed) thresholds."""
    scores = np.concatenate([np.asarray(genuine, float), np.asarray(impostor, float)])
    lo, hi = _axis(float(scores.min()) if scores.size else None, float(scores.max()) if scores.size else None,
                   current, proposed)  # fmt: skip
    edges = np.linspace(lo, hi, bins + 1)
    counts = {name: np.histogram(np.asarray(values, float), bins=edges)[0]
              for name, values in (("genuine", genuine), ("impostor", impostor))}  # fmt: skip
    return histogram_counts_svg(edges, counts["genuine"], counts["impostor"], current=current, proposed=proposed)


def stored_histogram_svg(histogram: dict, *, current: float | None = None, proposed: float | None = None) -> str:
    """The chart of a stored CalibrationRun.histogram (counts over fixed bins), cut to where the scores lie."""
    low, high, bins = histogram["edges"]
    edges = np.linspace(low, high, int(bins) + 1)
    genuine, impostor = np.asarray(histogram["genuine"]), np.asarray(histogram["impostor"])
    used = np.flatnonzero(genuine + impostor)
    lo, hi = _axis(
        float(edges[used[0]]) if used.size else None,
        float(edges[used[-1] + 1]) if used.size else None,
        current,
        proposed,
    )
    keep = (edges[:-1] >= lo - 1e-9) & (edges[1:] <= hi + 1e-9)
    first = int(np.argmax(keep)) if keep.any() else 0
    last = first + int(keep.sum())
    return histogram_counts_svg(edges[first : last + 1], genuine[first:last], impostor[first:last], current=current,
                                proposed=proposed)  # fmt: skip


def _axis(low: float | None, high: float | None, *marks: float | None) -> tuple[float, float]:
    """The axis range: the scores and the threshold marks, rounded out to 0.1."""
    finite = [v for v in marks if v is not None and np.isfinite(v)]
    if low is None or high is None:
        return -0.2, 1.0
    lo = float(np.floor(min([low, *finite]) * 10) / 10)
    hi = float(min(1.0, np.ceil(max([high, *finite]) * 10) / 10))
    return lo, hi if hi > lo else lo + 0.1


def histogram_counts_svg(
    edges: np.ndarray,
    genuine_counts: np.ndarray,
    impostor_counts: np.ndarray,
    *,
    current: float | None = None,
    proposed: float | None = None,
) -> str:
    """The chart from counts per bin (`edges`: bins + 1 values)."""
    lo, hi = float(edges[0]), float(edges[-1])
    shares = {}
    for name, counts in (("genuine", genuine_counts), ("impostor", impostor_counts)):
        counts = np.asarray(counts, float)
        shares[name] = counts / max(1.0, counts.sum())
    totals = {"genuine": int(np.sum(genuine_counts)), "impostor": int(np.sum(impostor_counts))}
    top = max(0.01, float(max(shares["genuine"].max(initial=0), shares["impostor"].max(initial=0))) * 1.1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}"'
        ' role="img" aria-labelledby="calibration-title" font-family="sans-serif" font-size="11">',
        '<title id="calibration-title">Genuine and impostor score histograms with the match threshold</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    # axes and ticks
    base = HEIGHT - BOTTOM
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#333"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#333"/>')
    for tick in np.arange(np.ceil(lo * 10) / 10, hi + 1e-9, 0.1):
        x = _x(float(tick), lo, hi)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{tick:.1f}</text>')
    for k in range(5):
        share = top * k / 4
        y = _y(share, top)
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{100 * share:.0f}%</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
        "pooled cosine similarity (face vs person)</text>"
    )
    parts.append(
        f'<text x="14" y="{(TOP + base) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + base) / 2})">share of scores</text>'
    )
    # bars: impostor then genuine, half transparent so overlaps show
    for name, colour in (("impostor", IMPOSTOR), ("genuine", GENUINE)):
        for k, share in enumerate(shares[name]):
            if share <= 0:
                continue
            x0, x1 = _x(edges[k], lo, hi), _x(edges[k + 1], lo, hi)
            y = _y(float(share), top)
            parts.append(
                f'<rect class="{name}" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                f'height="{base - y:.1f}" fill="{colour}" fill-opacity="0.55"/>'
            )
    for value, colour, dash, label in (
        (current, CURRENT, "", "current"),
        (proposed, PROPOSED, "6 4", "proposed"),
    ):
        if value is None or not np.isfinite(value) or not lo <= value <= hi:
            continue
        x = _x(value, lo, hi)
        parts.append(
            f'<line class="threshold-{label}" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{base}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
        )
        parts.append(
            f'<text x="{x + 4:.1f}" y="{TOP + (12 if label == "current" else 26)}" fill="{colour}">'
            f"{escape(label)} {value:.3f}</text>"
        )
    legend = (("genuine", GENUINE, totals["genuine"]), ("impostor", IMPOSTOR, totals["impostor"]))
    for k, (label, colour, n) in enumerate(legend):  # in the top margin, clear of the bars
        x = LEFT + 190 * k
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}" fill-opacity="0.55"/>')
        parts.append(f'<text x="{x + 14}" y="17">{label} ({n} scores)</text>')
    parts.append("</svg>")
    return "".join(parts)
