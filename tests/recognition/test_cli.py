"""The enroll / export_dataset / reembed commands, run in-process (no broker: tasks are eager) on real photos."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recognition.models import Enrollment, FaceEmbedding, FaceImage, PackSettings, Person
from recognition.services import reembed

pytestmark = pytest.mark.django_db

TREE = {  # dataset folder -> source image under ../shared/data/faces/identities
    "Barack Obama/1.jpg": "facerec_obama/1.jpg",
    "Barack Obama/2.jpg": "facerec_obama/2.jpg",
    "Joe Biden/1.jpg": "facerec_biden/1.jpg",
}


@pytest.fixture
def models_present() -> None:
    from recognition.engine.model_store import ModelCorrupt, ModelMissing
    from recognition.inference import face_analyzer

    try:
        face_analyzer()
        face_analyzer("open")
    except (ModelMissing, ModelCorrupt) as exc:
        pytest.skip(f"models not available ({exc}); run `python manage.py fetch_models`")


def build(root: Path, faces_data: Path, layout: dict[str, str]) -> Path:
    for relative, source in layout.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes((faces_data / "identities" / source).read_bytes())
    return root


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}  # fmt: skip


def test_enroll_a_folder_tree_then_export_it_back_byte_for_byte(faces_data, models_present, tmp_path) -> None:
    source = build(tmp_path / "dataset", faces_data, TREE)
    (source / "Joe Biden" / "notes.txt").write_text("not an image")
    output = run("enroll", str(source))
    assert "3 enrolled, 0 rejected, 1 refused, 0 duplicates" in output, output
    assert "Joe Biden/notes.txt: not an image file" in output
    assert sorted(Person.objects.values_list("display_name", flat=True)) == ["Barack Obama", "Joe Biden"]
    assert FaceEmbedding.objects.count() == 3 and Enrollment.objects.get().state == Enrollment.State.DONE

    out_dir = tmp_path / "export"
    assert "exported 3 images of 2 people" in run("export_dataset", str(out_dir))
    expected = {name: digest for name, digest in digests(source).items() if name.endswith(".jpg")}
    assert digests(out_dir) == expected  # same person_name/ tree, same names, identical bytes

    again = run("enroll", str(out_dir))  # the export is a dataset enroll takes: all of it already known
    assert "0 enrolled, 0 rejected, 0 refused, 3 duplicates" in again
    with pytest.raises(CommandError, match="not empty"):
        run("export_dataset", str(out_dir))


def test_enroll_a_zip_and_a_flat_folder_for_one_person(faces_data, models_present, tmp_path) -> None:
    archive = tmp_path / "people.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Kit Harington/1.jpeg", (faces_data / "identities/facerec_kit_harington/1.jpeg").read_bytes())
        zf.writestr("Rose Leslie/1.jpg", (faces_data / "identities/facerec_rose_leslie/1.jpg").read_bytes())
        zf.writestr("../escape/1.jpg", b"x")
    output = run("enroll", str(archive))
    assert "2 enrolled" in output and "../escape/1.jpg: path with '..' refused" in output

    flat = build(tmp_path / "flat", faces_data, {"a.jpg": "dlib_John_Salley/1.jpg", "b.jpg": "dlib_John_Salley/2.jpg"})
    output = run("enroll", str(flat), person="AC/DC Ünïcode")
    person = Person.objects.get(display_name="AC/DC Ünïcode")
    statuses = sorted(person.images.values_list("status", flat=True))
    assert len(statuses) == 2 and f"{statuses.count('enrolled')} enrolled" in output

    out_dir = tmp_path / "export"
    run("export_dataset", str(out_dir), all=True)
    folder = out_dir / "AC\uff0fDC Ünïcode"  # a slash cannot be in a folder name; enroll folds it back
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "b.jpg"]
    assert (folder / "a.jpg").read_bytes() == (flat / "a.jpg").read_bytes()
    assert "0 refused, 4 duplicates" in run("enroll", str(out_dir))  # the same people, no conflict


def test_enroll_refuses_a_missing_path_an_unreadable_zip_and_an_empty_folder(tmp_path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        run("enroll", str(tmp_path / "nowhere"))
    broken = tmp_path / "broken.zip"
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("p/1.jpg", b"x" * 1000)
    broken.write_bytes(good.getvalue()[:-30])  # the central directory is cut off
    with pytest.raises(CommandError, match="readable zip"):
        run("enroll", str(broken))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no files found"):
        run("enroll", str(tmp_path / "empty"))
    assert FaceImage.objects.count() == 0


def enrolled_gallery(faces_data: Path, tmp_path: Path) -> None:
    """Three images enrolled with the arcface pack, which is the active one; the open pack has no settings yet."""
    PackSettings.objects.update(is_active=False)
    PackSettings.objects.update_or_create(pack="arcface", defaults={"threshold": 0.32, "margin": 0.05,
                                                                     "is_active": True})  # fmt: skip
    PackSettings.objects.filter(pack="open").delete()
    run("enroll", str(build(tmp_path / "dataset", faces_data, TREE)))


def test_reembed_switches_the_active_pack_only_when_every_image_has_the_new_embedding(
    faces_data, models_present, tmp_path
) -> None:
    enrolled_gallery(faces_data, tmp_path)
    output = run("reembed", "open", threshold=0.45)
    assert "3 of 3 images embedded, 0 failed, 0 missing; now the active pack" in output
    # the pack's row was created with the given threshold and the shipped margin
    assert PackSettings.objects.filter(pack="open", threshold=0.45, margin=0.05).exists()
    vectors = FaceEmbedding.objects.filter(model_name="sface_2021dec")
    assert vectors.count() == 3 and {len(np.asarray(v.vector)) for v in vectors} == {128}
    assert set(vectors.values_list("face_image__person_id", flat=True)) == set(
        vectors.values_list("person_id", flat=True)
    )
    assert list(PackSettings.objects.filter(is_active=True).values_list("pack", flat=True)) == ["open"]
    assert FaceEmbedding.objects.filter(model_name="arcface_mbf").count() == 3  # kept for a switch back
    run("reembed", "open")  # again: nothing to do, nothing duplicated
    assert FaceEmbedding.objects.filter(model_name="sface_2021dec").count() == 3


def test_reembed_replaces_embeddings_of_an_older_embedder_version(faces_data, models_present, tmp_path) -> None:
    # SFace embeddings written before flip test-time augmentation (model_version without "+hflip") are not
    # comparable with today's: `reembed open` on the active pack replaces them, and only them.
    from recognition.domain.pack import pack_model_version

    enrolled_gallery(faces_data, tmp_path)
    run("reembed", "open", threshold=0.45)
    current = pack_model_version("open")
    assert current.endswith("+hflip")
    vectors = FaceEmbedding.objects.filter(model_name="sface_2021dec")
    assert set(vectors.values_list("model_version", flat=True)) == {current}
    fresh = {e.face_image_id: np.asarray(e.vector) for e in vectors}
    stale = vectors.order_by("pk").first()
    stale.model_version = current.removesuffix("+hflip")
    stale.vector = -fresh[stale.face_image_id]
    stale.save()
    progress = reembed.reembed_progress("open")
    assert (progress.embedded, progress.missing, progress.active) == (2, 1, True)

    output = run("reembed", "open")
    assert "3 of 3 images embedded, 0 failed, 0 missing; now the active pack" in output
    assert vectors.count() == 3 and set(vectors.values_list("model_version", flat=True)) == {current}
    replaced = np.asarray(FaceEmbedding.objects.get(pk=stale.pk).vector)
    assert np.allclose(replaced, fresh[stale.face_image_id], atol=1e-5)
    assert FaceEmbedding.objects.filter(model_name="arcface_mbf").count() == 3  # the other model is left alone


def test_reembed_does_not_switch_halfway_or_with_unexplained_failures(
    faces_data, models_present, tmp_path, monkeypatch
) -> None:
    from recognition.inference import face_analyzer

    enrolled_gallery(faces_data, tmp_path)
    reembed.prepare_reembed("open", threshold=0.4, margin=0.05)
    queued: list[str] = []
    monkeypatch.setattr(reembed, "_queue_step", lambda pack, *_: queued.append(pack))
    progress = reembed.reembed_step("open", face_analyzer("open"), chunk_size=1, queue_next=True)
    assert (progress.embedded, progress.missing, progress.active, queued) == (1, 2, False, ["open"])
    assert PackSettings.objects.get(is_active=True).pack == "arcface"

    real = face_analyzer("open")
    biden = FaceImage.objects.get(person__display_name="Joe Biden")

    class LosesBiden:  # the new pack's detector finds no face in one image
        embedder = real.embedder

        def analyze(self, pixels, **options):
            return [] if pixels.shape == biden_shape else real.analyze(pixels, **options)

    from recognition.engine.imageio import decode_image

    biden_shape = decode_image(Path(biden.file.path).read_bytes()).shape
    monkeypatch.setattr("recognition.inference.face_analyzer", lambda pack=None: LosesBiden())
    with pytest.raises(CommandError, match="not active"):
        run("reembed", "open")
    progress = reembed.reembed_progress("open")
    assert (progress.embedded, progress.failed, progress.missing, progress.active) == (2, 1, 0, False)
    assert progress.failures[0]["image"] == biden.pk and progress.failures[0]["error"] == "no face found"
    assert PackSettings.objects.get(is_active=True).pack == "arcface"

    monkeypatch.setattr("recognition.inference.face_analyzer", lambda pack=None: real)
    output = run("reembed", "open")  # a new run tries the failure again; the real detector finds the face
    assert "3 of 3 images embedded" in output and PackSettings.objects.get(is_active=True).pack == "open"


def test_reembed_with_allow_failures_switches_and_lists_what_failed(faces_data, models_present, tmp_path,
                                                                     monkeypatch) -> None:  # fmt: skip
    from recognition.inference import face_analyzer

    enrolled_gallery(faces_data, tmp_path)
    real = face_analyzer("open")

    class FindsNothing:
        embedder = real.embedder

        def analyze(self, pixels, **options):
            return []

    monkeypatch.setattr("recognition.inference.face_analyzer", lambda pack=None: FindsNothing())
    output = run("reembed", "open", threshold=0.4, margin=0.05, allow_failures=True)
    assert "0 of 3 images embedded, 3 failed" in output and output.count("no face found") == 3
    assert PackSettings.objects.get(is_active=True).pack == "open"


def test_start_reembed_runs_the_job_through_the_task(faces_data, models_present, tmp_path,
                                                      django_capture_on_commit_callbacks) -> None:  # fmt: skip
    enrolled_gallery(faces_data, tmp_path)
    image = FaceImage.objects.first()
    from recognition.services import lifecycle

    lifecycle.move_images_to_recycle_bin([image])  # still re-embedded: it can be restored later
    with django_capture_on_commit_callbacks(execute=True):
        started = reembed.start_reembed("open", threshold=0.4, margin=0.05)
    assert (started.total, started.missing) == (3, 3)  # reported as queued, before the (eager) task ran
    progress = reembed.reembed_progress("open")
    assert (progress.embedded, progress.active) == (3, True)
