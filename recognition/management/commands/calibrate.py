"""`python manage.py calibrate [--pack P] [--target-far 1e-5] [--apply] [--json]`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import acting_as, command_actor
from recognition.engine.model_store import PACKS
from recognition.services import calibration


class Command(BaseCommand):
    help = (
        "Genuine and impostor score distributions of the enrolled gallery (leave-one-out, the product's own "
        "per-person pooling): EER, TAR at FAR 1e-2/1e-3/1e-4, and the threshold proposed for a target "
        "false-accept rate per comparison. --apply stores the proposal in PackSettings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pack", choices=sorted(PACKS), help="model pack (default: the active one)")
        parser.add_argument(
            "--target-far",
            type=float,
            default=calibration.DEFAULT_TARGET_FAR,
            help="false-accept rate per comparison (default %(default)g)",
        )
        parser.add_argument("--apply", action="store_true", help="store the proposed threshold")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the figures as JSON")

    def handle(
        self, *args: Any, pack: str | None, target_far: float, apply: bool, as_json: bool, **opts: Any
    ):
        if not 0 < target_far < 1:
            raise CommandError("--target-far must lie between 0 and 1")
        result = calibration.calibrate(pack, target_far=target_far)
        if as_json:
            self.stdout.write(json.dumps(result.summary(), indent=2, sort_keys=True, default=float))
        else:
            self.stdout.write(report(result))
        if result.genuine.size == 0 or result.impostor.size == 0:
            raise CommandError(
                "not enough enrolled data to calibrate: it needs at least two people, one of them with two "
                "or more enrolled images"
            )
        if apply:
            with acting_as(command_actor("calibrate")):
                calibration.apply_threshold(result.pack, result.proposed_threshold)
            message = f"threshold of {result.pack} set to {result.proposed_threshold:.4f}"
            self.stdout.write(self.style.SUCCESS(message))


def report(c: calibration.Calibration) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f}%"

    lines = [
        f"pack {c.pack} ({c.model_name}): {c.people} people, {c.images} enrolled images, {c.probes} probes",
        f"genuine scores {c.genuine.size}, impostor scores {c.impostor.size}",
    ]
    if c.genuine.size and c.impostor.size:
        lines += [
            f"genuine  min {c.genuine.min():.3f}  median {float(np.median(c.genuine)):.3f}",
            f"impostor max {c.impostor.max():.3f}  median {float(np.median(c.impostor)):.3f}",
            f"EER {pct(c.eer)} at threshold {c.threshold_at_eer:.3f}",
        ]
        for far, tar in c.tar_at_far.items():
            note = "" if tar is not None else f" (needs >= {int(round(1 / float(far)))} impostor scores)"
            lines.append(f"TAR at FAR {far}: {pct(tar)}{note}")
        how = "measured" if c.resolved else "extrapolated from the impostor tail (too few impostor scores)"
        lines += [
            f"proposed threshold for FAR {c.target_far:g}: {c.proposed_threshold:.4f} ({how})",
            f"  at it on this gallery: FAR {pct(c.far_at_proposed)}, TAR {pct(c.tar_at_proposed)};"
            f" a stranger is accepted as one of the {c.people} people about {pct(c.stranger_accept_rate)}"
            " of the time",
            f"current threshold: {c.current_threshold:.4f}" if c.current_threshold is not None else "",
        ]
    return "\n".join(line for line in lines if line)
