"""A small real gallery enrolled through the product's own enrollment path (shared by tests/matching and
tests/api). Needs the model files and ../shared/data/faces; skips with the reason when either is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from recognition.models import FaceImage, Person
from recognition.uploads import UploadItem

# person -> images enrolled (paths under identities/); the rest of each folder is left for probes.
SMALL_GALLERY = {
    "facerec_obama": ["1.jpg", "2.jpg", "3.jpg"],
    "facerec_biden": ["1.jpg"],
    "dlib_John_Salley": ["1.jpg", "2.jpg", "3.jpg"],
}


def analyzer_or_skip():
    from recognition import inference
    from recognition.engine.model_store import ModelMissing

    try:
        return inference.face_analyzer()
    except ModelMissing as exc:
        pytest.skip(f"model files are absent ({exc}); run `python manage.py fetch_models`")


def identity_files(faces_data: Path, identity: str) -> list[Path]:
    return sorted((faces_data / "identities" / identity).iterdir())


def enroll_gallery(faces_data: Path, spec: dict[str, list[str]] = SMALL_GALLERY) -> dict[str, Person]:
    """Enroll the images of `spec` (one batch, processed in-process) and return the people by identity."""
    from recognition.services.enrollment import enroll_images, start_enrollment

    analyzer = analyzer_or_skip()
    items = []
    for identity, names in spec.items():
        folder = faces_data / "identities" / identity
        if not folder.is_dir():
            pytest.skip(f"identity {identity} is not in the shared face data")
        items += [UploadItem(identity, name, (folder / name).read_bytes()) for name in names]
    batch = start_enrollment(items, source="import", queue=False)
    enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
    people = {p.display_name: p for p in Person.objects.filter(images__enrollment=batch).distinct()}
    enrolled = FaceImage.objects.filter(enrollment=batch, status=FaceImage.Status.ENROLLED).count()
    assert enrolled == sum(len(v) for v in spec.values()), list(
        batch.images.values("original_name", "reject_reason")
    )
    return people
