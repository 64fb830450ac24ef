"""Shipped match settings per model pack (PackSettings rows), from measurement.

Where the numbers come from (2026-11, CPU, the pooling of recognition.services.matching: 0.5 x best image +
0.5 x mean of the top-3 images of a person): recognition.services.calibration run leave-one-out over all 130
identity images (24 people) of ../shared/data/faces, target false-accept rate 1e-5 per comparison (a gallery
of ~1000 people keeps strangers accepted under ~1%). That data holds 2,990 impostor scores, too few to measure
1e-5, so the threshold is the impostor scores' Gaussian tail there:
    arcface (arcface_mbf):    impostor mean 0.038, std 0.066, max 0.277; genuine min 0.570 -> 0.3198 -> 0.32
    open    (sface_2021dec):  impostor mean 0.137, std 0.084, max 0.386; genuine min 0.563 -> 0.4952 -> 0.50
Both lie above every impostor pair seen (pairwise max 0.291 / 0.397) and below every pooled genuine score.
Margin 0.05: on that data the right person beats the runner-up by >= 0.32 (arcface) / 0.24 (open) in every
open-set probe, so the margin costs nothing there; at lower thresholds it turns away some strangers who sit
between two people (at threshold 0.20, arcface: strangers accepted 10.0% -> 8.5%).
Open-set figures at these values: `python -m bench.openset`. A deployment recalibrates on its own enrollments
with `manage.py calibrate` (thresholds do not transfer well between data sets at low FAR).

Existing rows are never overwritten (a deployment may have calibrated already). The active pack is the one
FACE_MODEL_PACK names (arcface by default) when no row is active yet.
"""

from django.conf import settings
from django.db import migrations

SHIPPED = {
    "arcface": {"threshold": 0.32, "margin": 0.05},
    "open": {"threshold": 0.50, "margin": 0.05},
}


def create_pack_settings(apps, schema_editor):
    PackSettings = apps.get_model("recognition", "PackSettings")
    for pack, values in SHIPPED.items():
        PackSettings.objects.get_or_create(pack=pack, defaults=values)
    if not PackSettings.objects.filter(is_active=True).exists():
        wanted = getattr(settings, "FACE_MODEL_PACK", "arcface")
        active = wanted if wanted in SHIPPED else "arcface"
        PackSettings.objects.filter(pack=active).update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [("recognition", "0002_gallery")]

    operations = [migrations.RunPython(create_pack_settings, migrations.RunPython.noop)]
