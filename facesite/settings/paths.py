"""Where the platform keeps its state, the one environment reader the settings share, and local secrets."""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

VAR_DIR = Path(env("FACESITE_VAR_DIR", default=str(BASE_DIR / "var")))
MEDIA_ROOT = Path(env("FACESITE_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MODELS_DIR = Path(env("FACESITE_MODELS_DIR", default=str(BASE_DIR / "models" / "weights")))
STATIC_ROOT = BASE_DIR / "staticfiles"


def _local_secret(name: str, directory: Path | None = None) -> str:
    """A random secret generated once and kept in var/, so it survives restarts. It is written, with mode 0600
    from the moment the file exists, to a private temporary file that is then linked into place: never readable
    by others, never seen half-written, and two processes starting at once agree on one secret."""
    path = (directory or VAR_DIR) / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as secret_file:
            secret_file.write(value)
        os.link(draft, path)  # fails if another process linked its secret first
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        return value  # read-only checkout: the secret lives for this process only
    finally:
        draft.unlink(missing_ok=True)
    return value
