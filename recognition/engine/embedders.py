"""Face embedders: 112x112 aligned BGR crops in, L2-normalised float32 vectors out, batched.

An embedder with ``flip_tta`` embeds every crop and its horizontal mirror in the same call and returns the
normalised mean of the two unit vectors: a mirror-invariant embedding, a little closer to the person's other
images (measured for SFace in bench/RESULTS.md, "open pack"). It is a different vector from the plain one, so
the embedder's ``version`` says so (``+hflip``): re-embedding (recognition.services.reembed) replaces embeddings
stored without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from recognition.engine.model_store import sha256_of


class OnnxEmbedder:
    """Shared preprocessing, batching and normalisation; subclasses set the pixel constants: the network takes
    RGB NCHW float32 (x - mean) / std."""

    default_name = "embedder"
    mean = 0.0
    std = 1.0
    flip_tta = False  # also embed the mirrored crop and average (see the module docstring)

    def __init__(
        self,
        model_path: Path | str,
        session_factory: Callable,
        *,
        name: str | None = None,
        version: str | None = None,
        batch_size: int = 32,
        flip_tta: bool | None = None,
    ) -> None:
        path = Path(model_path)
        self.session = session_factory(path)
        self.name = name or self.default_name
        # Embeddings from different weights are not comparable: the version names the exact file. Callers that
        # know the file's sha256 (FaceAnalyzer.from_pack, from the manifest) pass it; hashing is the fallback.
        # Flip test-time augmentation gives other vectors from the same file: the version names it too.
        self.flip_tta = type(self).flip_tta if flip_tta is None else bool(flip_tta)
        self.version = embedder_version(version or f"{self.name}:{sha256_of(path)[:12]}", self.flip_tta)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_name = self.session.get_outputs()[0].name
        self.input_hw = (int(inp.shape[2]), int(inp.shape[3]))
        # A model exported with a fixed batch of 1 must be run one face at a time.
        self.batch_size = 1 if inp.shape[0] == 1 else max(1, int(batch_size))
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def preprocess(self, faces_bgr: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) BGR uint8 crops -> (N, 3, H, W) RGB float32 (x - mean) / std, contiguous."""
        rgb = faces_bgr[..., ::-1].astype(np.float32)
        return np.ascontiguousarray(((rgb - self.mean) / self.std).transpose(0, 3, 1, 2))

    def embed(self, aligned: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """(N,112,112,3) BGR uint8 crops (or a list of them) -> (N, dim) float32 unit vectors."""
        faces = np.asarray(aligned) if not isinstance(aligned, np.ndarray) else aligned
        if faces.ndim == 3:
            faces = faces[None]
        if faces.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if faces.shape[1:] != (*self.input_hw, 3):
            raise ValueError(
                f"expected aligned crops of shape (N, {self.input_hw[0]}, {self.input_hw[1]}, 3), "
                f"got {faces.shape}"
            )
        n = len(faces)
        if self.flip_tta:  # the crops, then their mirrors, in the same batches
            faces = np.concatenate([faces, faces[:, :, ::-1]])
        chunks = []
        for start in range(0, len(faces), self.batch_size):
            blob = self.preprocess(faces[start : start + self.batch_size])
            (out,) = self.session.run([self.output_name], {self.input_name: blob})
            chunks.append(np.asarray(out, dtype=np.float32).reshape(len(blob), -1))
        emb = _unit(np.concatenate(chunks))
        if self.flip_tta:
            emb = _unit(emb[:n] + emb[n:])
        return emb.astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


FLIP_SUFFIX = "+hflip"


def embedder_version(weights_version: str, flip_tta: bool) -> str:
    """The model_version stored with an embedding: ``name:<sha256[:12]>`` of the weights, plus ``+hflip`` when
    the embedder averages each face with its mirror (another vector from the same weights)."""
    return f"{weights_version}{FLIP_SUFFIX}" if flip_tta else weights_version


class ArcFace(OnnxEmbedder):
    """InsightFace ArcFace (e.g. w600k_mbf, 512-d): RGB, (x - 127.5) / 127.5, NCHW."""

    default_name = "arcface_mbf"
    mean = 127.5
    std = 127.5


class SFace(OnnxEmbedder):
    """OpenCV Zoo SFace (128-d): RGB, raw 0..255 float, NCHW; aligned like OpenCV's FaceRecognizerSF.alignCrop
    (the ArcFace 5-point template, the same crop as align.align_face). Flip TTA on: on the shared identity
    photos it raised the genuine scores and d' on clean and degraded copies (bench/RESULTS.md, "open pack")."""

    default_name = "sface_2021dec"
    flip_tta = True


EMBEDDER_CLASSES: dict[str, type[OnnxEmbedder]] = {"arcface": ArcFace, "sface": SFace}


def embedder_class(model_name: str) -> type[OnnxEmbedder]:
    """The embedder class for a manifest model name such as ``arcface_mbf`` or ``sface_2021dec``."""
    for prefix, cls in EMBEDDER_CLASSES.items():
        if model_name.lower().startswith(prefix):
            return cls
    raise KeyError(f"no embedder class for model {model_name!r}; known prefixes: {sorted(EMBEDDER_CLASSES)}")
