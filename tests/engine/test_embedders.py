"""Embedders: unit float32 vectors of the right size, batching equal to one-at-a-time, same person closer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.engine.align import align_face
from recognition.engine.embedders import ArcFace, SFace, embedder_class


@pytest.fixture(params=["arcface", "sface"])
def embedder(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def aligned_johns(john_chips, scrfd) -> dict[str, list[np.ndarray]]:
    """Two aligned crops for each of three people (dlib chips, padded so SCRFD finds the face)."""
    out = {}
    for person, paths in list(john_chips.items())[:3]:
        crops = []
        for path in paths[:2]:
            chip = cv2.imread(str(path))
            padded = cv2.copyMakeBorder(chip, 75, 75, 75, 75, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            (face,) = scrfd.detect(padded)
            crops.append(align_face(padded, face.kps))
        out[person] = crops
    return out


def test_dimensions_and_names(arcface, sface):
    assert (arcface.dim, sface.dim) == (512, 128)
    assert arcface.name == "arcface_mbf" and sface.name == "sface_2021dec"
    assert arcface.version.startswith("arcface_mbf:") and len(arcface.version) > len("arcface_mbf:")
    assert arcface.version != sface.version


def test_unit_norm_float32_and_batch_equals_single(embedder, aligned_johns):
    crops = np.stack([c for pair in aligned_johns.values() for c in pair])
    batch = embedder.embed(crops)
    assert batch.shape == (len(crops), embedder.dim) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    singles = np.concatenate([embedder.embed(c) for c in crops])  # a single HxWx3 crop is accepted too
    assert np.abs(batch - singles).max() < 1e-4
    assert np.allclose(embedder.embed(list(crops)), batch, atol=1e-6)


def test_small_batch_size_chunks_give_the_same_result(model_path, session_factory, aligned_johns):
    crops = np.stack([c for pair in aligned_johns.values() for c in pair])
    whole = ArcFace(model_path("arcface_mbf"), session_factory)
    chunked = ArcFace(model_path("arcface_mbf"), session_factory, batch_size=4)
    assert chunked.batch_size == 4
    assert np.abs(whole.embed(crops) - chunked.embed(crops)).max() < 1e-4


def test_empty_and_wrong_shapes(embedder):
    assert embedder.embed(np.zeros((0, 112, 112, 3), np.uint8)).shape == (0, embedder.dim)
    with pytest.raises(ValueError, match="aligned crops"):
        embedder.embed(np.zeros((2, 100, 100, 3), np.uint8))


def test_same_person_scores_higher_than_different_people(embedder, aligned_johns):
    people = list(aligned_johns)
    emb = {p: embedder.embed(np.stack(c)) for p, c in aligned_johns.items()}
    same = [float(emb[p][0] @ emb[p][1]) for p in people]
    different = [float(emb[a][0] @ emb[b][i]) for a in people for b in people if a != b for i in (0, 1)]
    assert min(same) > max(different)


def test_sface_runs_batches_whatever_its_batch_dimension(sface, aligned_johns):
    # The fp32 SFace file may have a fixed batch of 1: then the embedder loops, else it batches.
    fixed = sface.session.get_inputs()[0].shape[0] == 1
    assert (sface.batch_size == 1) == fixed
    crops = np.stack([c for pair in aligned_johns.values() for c in pair])
    assert sface.embed(crops).shape == (len(crops), 128)


def test_embedder_class_by_manifest_name():
    assert embedder_class("arcface_mbf") is ArcFace
    assert embedder_class("sface_2021dec") is SFace
    with pytest.raises(KeyError):
        embedder_class("facenet")


def test_sface_flip_tta_gives_the_mirror_invariant_mean_of_the_two_views(
    sface, model_path, session_factory, aligned_johns
):
    crops = np.stack([c for pair in aligned_johns.values() for c in pair])
    mirrored = np.ascontiguousarray(crops[:, :, ::-1])
    plain = SFace(model_path("sface_2021dec"), session_factory, flip_tta=False)
    assert sface.flip_tta and not plain.flip_tta
    # Without TTA a face and its mirror give different vectors; with it, the same one.
    assert float(np.min(np.sum(plain.embed(crops) * plain.embed(mirrored), axis=1))) < 0.99
    assert np.abs(sface.embed(crops) - sface.embed(mirrored)).max() < 1e-5
    # It is the normalised mean of the two plain unit vectors.
    mean = plain.embed(crops) + plain.embed(mirrored)
    expected = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    assert np.abs(sface.embed(crops) - expected).max() < 1e-5


def test_flip_tta_is_part_of_the_version_so_stored_vectors_are_not_mixed(
    sface, arcface, model_path, session_factory
):
    plain = SFace(model_path("sface_2021dec"), session_factory, flip_tta=False)
    assert sface.version == f"{plain.version}+hflip"
    assert not arcface.flip_tta and not arcface.version.endswith("+hflip")
    # A version given by the caller (the manifest's sha256, as FaceAnalyzer.from_pack passes) gets it too.
    assert SFace(model_path("sface_2021dec"), session_factory, version="sface_2021dec:abc").version == (
        "sface_2021dec:abc+hflip"
    )
