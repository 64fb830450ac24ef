"""The shared data's labelled identity photos, and their embeddings (optionally degraded), for the accuracy and
open-set benches: what both read, so neither imports the other's module for it."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognition.engine.analyzer import FaceAnalyzer
from recognition.engine.imageio import decode_image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "faces"
SMALL_FACE_PX = 36  # --degrade small: the face's short side after shrinking
BLUR_FACE_PX, BLUR_SIGMA, JPEG_QUALITY = 80, 1.2, 25  # --degrade blurjpeg


@dataclass(frozen=True)
class IdentityImage:
    path: str  # relative to the data dir, as in identities.csv
    identity: str
    set: str


def load_identities(data_dir: Path, sets: Iterable[str] | None = None) -> list[IdentityImage]:
    wanted = set(sets) if sets is not None else None
    rows = []
    with (data_dir / "identities" / "identities.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if (wanted is None or row["set"] in wanted) and (data_dir / row["path"]).is_file():
                rows.append(IdentityImage(row["path"], row["identity"], row["set"]))
    return rows


def read_image(data_dir: Path, rel: str) -> np.ndarray:
    return decode_image(data_dir / rel)



def _shrink(image: np.ndarray, face_px: float, target_px: float) -> np.ndarray:
    scale = min(1.0, target_px / max(face_px, 1.0))
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


def _blur_jpeg(image: np.ndarray, face_px: float) -> np.ndarray:
    image = cv2.GaussianBlur(_shrink(image, face_px, BLUR_FACE_PX), (0, 0), BLUR_SIGMA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


# name -> f(image, short side of its largest face) -> degraded image
DEGRADATIONS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "small": lambda image, face_px: _shrink(image, face_px, SMALL_FACE_PX),  # a face of 36 px (area resize)
    "blurjpeg": _blur_jpeg,  # face shrunk to 80 px, Gaussian blur sigma 1.2, JPEG quality 25
    "gray": lambda image, face_px: cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
}


def embed_identities(
    analyzer: FaceAnalyzer, data_dir: Path, images: list[IdentityImage], *, degrade: str | None = None
) -> tuple[dict[str, np.ndarray | None], dict[str, int]]:
    """Embedding of the largest face of every image (None when no face), and the face count per image; with
    ``degrade`` (a DEGRADATIONS key) the largest face of the image degraded around its original largest face."""
    embeddings: dict[str, np.ndarray | None] = {}
    counts: dict[str, int] = {}
    for im in images:
        image = read_image(data_dir, im.path)
        faces = analyzer.analyze(image, emotion=False, embed=degrade is None)
        if degrade is not None and faces:
            largest = max(faces, key=lambda f: f.detection.area)
            faces = analyzer.analyze(DEGRADATIONS[degrade](image, largest.detection.short_side), emotion=False)
        counts[im.path] = len(faces)
        largest = max(faces, key=lambda f: f.detection.area, default=None)
        embeddings[im.path] = largest.embedding if largest is not None else None
    return embeddings, counts
