"""`python manage.py enroll_camera --person NAME [--camera 0] [--count 8]`: capture good frames from a local
camera (one sharp, large enough face; poses that differ) and enroll them like any other upload."""

from __future__ import annotations

import time

import cv2
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import acting_as, command_actor
from recognition.domain.quality import Rejection
from recognition.engine.capture import Offer, PoseCollector
from recognition.rejections import rejection_words
from recognition.uploads import UploadItem


class Command(BaseCommand):
    help = "Capture good face photos of one person from a local camera (or a video file) and enroll them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--person", required=True, help="the person's name (created when new)")
        parser.add_argument("--camera", type=int, default=0, help="local camera index")
        parser.add_argument("--video", help="read frames from this video file instead of a camera")
        parser.add_argument("--count", type=int, default=8, help="how many good photos to keep")
        parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")

    def handle(self, *args, person: str, camera: int, video: str | None, count: int, timeout: float,
               **options) -> None:  # fmt: skip
        from recognition.inference import face_analyzer
        from recognition.services.enrollment import enroll_images, person_for_name, quality_gate, start_enrollment

        capture = cv2.VideoCapture(video if video else camera)
        if not capture.isOpened():
            raise CommandError(f"cannot open {'video ' + video if video else f'camera {camera}'}")
        analyzer = face_analyzer(video=True)
        collector = PoseCollector(quality_gate().choose, wanted=count)
        deadline = time.monotonic() + timeout
        try:
            while not collector.done and time.monotonic() < deadline:
                ok, frame = capture.read()
                if not ok:
                    break
                if collector.offer(frame, analyzer.analyze(frame, emotion=False)).kept:
                    self.stdout.write(f"kept photo {len(collector.kept)}/{count}")
        finally:
            capture.release()
        if not collector.kept:
            raise CommandError(f"no usable photo: {_words(collector.last)}")
        items = []
        for index, frame in enumerate(collector.kept, 1):
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            items.append(UploadItem(person, f"camera-{index}.jpg", jpeg.tobytes()))
        try:
            target = person_for_name(person)
        except ValueError as exc:  # NameUnavailable: an account's Person, the recycle bin, consent withdrawn
            raise CommandError(str(exc)) from None
        with acting_as(command_actor("enroll_camera")):
            batch = start_enrollment(items, source="webcam", person=target, queue=False)
        enroll_images(list(batch.images.values_list("pk", flat=True)), analyzer)
        enrolled = batch.images.filter(status="enrolled").count()
        self.stdout.write(f"{person}: {enrolled} of {len(items)} photos enrolled (batch #{batch.pk})")
        if len(collector.kept) < count:
            self.stdout.write(f"only {len(collector.kept)} good photos before the time ran out")


def _words(offered) -> str:
    """Why the last frame was not kept, for the command line."""
    if offered is None:
        return "no frame read"
    if offered.outcome is Offer.DUPLICATE_POSE:
        return "duplicate pose"
    return rejection_words(offered.refusal) if isinstance(offered.refusal, Rejection) else str(offered.refusal)
