"""`manage.py reembed PACK`: embed the whole gallery with another model pack, then make that pack active.

The active pack changes only when every enrolled image has an embedding of the new model. Without a broker the
job runs here with a progress bar; with one it is queued for the workers and followed (or not, with --no-wait).
Run it again to resume a job that was interrupted: only what is still missing is done.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.services import acting_as, command_actor
from recognition.engine.model_store import PACKS
from recognition.services import reembed


class Command(BaseCommand):
    help = "Re-embed every enrolled image with another model pack and switch to it when complete."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pack", choices=sorted(PACKS))
        parser.add_argument("--threshold", type=float, help="match threshold for the pack (needed the first time)")
        parser.add_argument("--margin", type=float, help="match margin for the pack (needed the first time)")
        parser.add_argument("--allow-failures", action="store_true",
                            help="switch even if some images cannot be embedded with the pack (they are listed)")
        parser.add_argument("--status", action="store_true", help="only print the progress (JSON) and exit")
        parser.add_argument("--no-wait", action="store_true", help="with workers: queue the job and return")
        parser.add_argument("--timeout", type=float, default=0, help="with workers: stop waiting after N seconds")

    def handle(self, *args, pack: str, threshold, margin, allow_failures: bool, status: bool, no_wait: bool,
               timeout: float, **options) -> None:  # fmt: skip
        if status:
            self.stdout.write(json.dumps(reembed.reembed_progress(pack).as_dict(), indent=2, ensure_ascii=False))
            return
        try:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                analyzer = self._analyzer(pack)
                with acting_as(command_actor("reembed")):
                    reembed.prepare_reembed(pack, threshold=threshold, margin=margin)
                self._run_here(pack, analyzer, allow_failures)
            else:
                with acting_as(command_actor("reembed")):
                    reembed.start_reembed(
                        pack, threshold=threshold, margin=margin, allow_failures=allow_failures
                    )
                if no_wait:
                    self.stdout.write(f"re-embedding with pack {pack} queued for the workers (queue 'enroll')")
                    return
                self._follow(pack, timeout)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(pack, allow_failures)

    def _analyzer(self, pack: str):
        from recognition.inference import face_analyzer

        try:
            return face_analyzer(pack)
        except Exception as exc:  # ModelMissing / ModelCorrupt say which file and how to fetch it
            raise CommandError(str(exc)) from exc

    def _run_here(self, pack: str, analyzer, allow_failures: bool) -> None:
        todo = reembed.reembed_progress(pack).missing
        with tqdm(total=todo, unit="img", desc=f"re-embedding ({pack})", disable=None) as bar:
            reembed.reembed_step(pack, analyzer, allow_failures=allow_failures, queue_next=False,
                                 on_progress=lambda done: bar.update(done - bar.n))  # fmt: skip

    def _follow(self, pack: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout if timeout > 0 else None
        progress = reembed.reembed_progress(pack)
        with tqdm(total=progress.total, unit="img", desc=f"re-embedding ({pack}, workers)", disable=None) as bar:
            while not progress.active:
                bar.update(progress.embedded + progress.failed - bar.n)
                if progress.complete and progress.failed:
                    return  # finished with failures: the switch waits (see the summary)
                if deadline is not None and time.monotonic() > deadline:
                    raise CommandError(
                        f"{progress.missing} images still missing after {timeout:.0f} s; are workers running on "
                        "queue 'enroll'? `reembed PACK` again resumes the job."
                    )
                time.sleep(0.5)
                progress = reembed.reembed_progress(pack)

    def _summary(self, pack: str, allow_failures: bool) -> None:
        progress = reembed.reembed_progress(pack)
        self.stdout.write(
            f"pack {pack} ({progress.model_name}): {progress.embedded} of {progress.total} images embedded, "
            f"{progress.failed} failed, {progress.missing} missing; "
            + ("now the active pack" if progress.active else "NOT switched")
        )
        for failure in progress.failures[:20]:
            self.stdout.write(f"  failed: image {failure['image']} of {failure['person']} "
                              f"({failure['file']}): {failure['error']}")  # fmt: skip
        if not progress.active:
            hint = "" if allow_failures else " (--allow-failures switches anyway)"
            raise CommandError(f"pack {pack} is not active: the gallery is not completely embedded with it{hint}")
