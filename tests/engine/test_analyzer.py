"""FaceAnalyzer (chaining, tight-crop padding, from_pack), quality figures, and the SessionFactory."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from recognition.engine import runtime
from recognition.engine.analyzer import FaceAnalyzer
from recognition.engine.quality import assess, head_pose
from recognition.engine.runtime import RuntimeOptions, SessionFactory
from recognition.engine.types import Detection, Emotion, Face

# ---- SessionFactory ----------------------------------------------------------------------------------------


def tiny_model(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_factory_returns_one_cached_session_per_model_and_logs_the_provider(tmp_path, caplog):
    path = tiny_model(tmp_path / "tiny.onnx")
    factory = SessionFactory(RuntimeOptions(intra_op_threads=1))
    with caplog.at_level(logging.INFO, logger="recognition.engine"):
        first = factory(path)
        second = factory(path)
        third = SessionFactory(RuntimeOptions(intra_op_threads=1))(str(path))  # another factory, same process
    assert first is second is third
    created = [r.getMessage() for r in caplog.records if "tiny.onnx" in r.getMessage()]
    assert len(created) == 1  # created (and logged) once
    provider = first.get_providers()[0]
    assert f"provider {provider}" in created[0]
    assert factory.provider(path) == provider
    assert first.run(None, {"x": np.array([[-1, 2, -3, 4]], np.float32)})[0].tolist() == [[0, 2, 0, 4]]


def test_factory_runs_cpu_when_asked_or_when_cuda_is_absent(tmp_path, caplog, monkeypatch):
    path = tiny_model(tmp_path / "tiny_cpu.onnx")
    assert SessionFactory(RuntimeOptions(device="cpu"))(path).get_providers() == ["CPUExecutionProvider"]
    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])  # as a CPU build
    with caplog.at_level(logging.INFO, logger="recognition.engine"):
        session = SessionFactory(RuntimeOptions(device="cuda"))(path)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert any("no CUDA provider" in r.getMessage() for r in caplog.records)


# onnxruntime-gpu without working CUDA libraries cannot be had on a CPU machine: stand-ins play its two faults.


def listing_cuda(monkeypatch: pytest.MonkeyPatch, make_session) -> list[list[str]]:
    """onnxruntime lists CUDA; InferenceSession is make_session(path, options, providers). Returns the
    providers asked for, per session made."""
    asked: list[list[str]] = []

    def inference_session(path, options, providers):
        asked.append(list(providers))
        return make_session(path, options, providers)

    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: [runtime.CUDA, runtime.CPU])
    monkeypatch.setattr(runtime.ort, "InferenceSession", inference_session)
    return asked


REAL_SESSION = ort.InferenceSession


@pytest.mark.parametrize("device", ["auto", "cuda"])
def test_cuda_listed_but_not_loaded_runs_on_cpu_and_says_so(tmp_path, caplog, monkeypatch, device):
    """The session comes back without CUDA among its providers (libraries missing): the factory must not
    believe the request, and makes a plain CPU session."""
    path = tiny_model(tmp_path / f"tiny_unloaded_{device}.onnx")
    asked = listing_cuda(monkeypatch, lambda p, o, providers: REAL_SESSION(p, o, providers=[runtime.CPU]))
    with caplog.at_level(logging.INFO, logger="recognition.engine"):
        factory = SessionFactory(RuntimeOptions(device=device))
        session = factory(path)
    assert asked == [[runtime.CUDA, runtime.CPU], [runtime.CPU]]
    assert session.get_providers() == [runtime.CPU] and factory.provider(path) == runtime.CPU
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.WARNING, f"CUDA provider listed but did not load for {path.name}; using CPU") in messages
    assert (logging.INFO, f"onnxruntime session {path.name}: provider {runtime.CPU}") in messages
    assert session.run(None, {"x": np.array([[-1, 2, -3, 4]], np.float32)})[0].tolist() == [[0, 2, 0, 4]]


def test_cuda_that_raises_while_loading_runs_on_cpu_and_says_why(tmp_path, caplog, monkeypatch):
    path = tiny_model(tmp_path / "tiny_raising.onnx")

    def make_session(p, options, providers):
        if runtime.CUDA in providers:
            raise RuntimeError("libcublasLt.so.12: cannot open shared object file")
        return REAL_SESSION(p, options, providers=providers)

    asked = listing_cuda(monkeypatch, make_session)
    with caplog.at_level(logging.INFO, logger="recognition.engine"):
        session = SessionFactory()(path)
    assert asked == [[runtime.CUDA, runtime.CPU], [runtime.CPU]]
    assert session.get_providers() == [runtime.CPU]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"CUDA provider failed to load for {path.name} (libcublasLt.so.12: cannot open shared "
                        "object file); using CPU"]  # fmt: skip


def test_cuda_that_loads_is_used_and_logged(tmp_path, caplog, monkeypatch):
    path = tiny_model(tmp_path / "tiny_cuda.onnx")

    class CudaSession:  # what a working onnxruntime-gpu returns
        def get_providers(self) -> list[str]:
            return [runtime.CUDA, runtime.CPU]

    asked = listing_cuda(monkeypatch, lambda p, o, providers: CudaSession())
    with caplog.at_level(logging.INFO, logger="recognition.engine"):
        factory = SessionFactory()
        assert factory.provider(path) == runtime.CUDA
    assert asked == [[runtime.CUDA, runtime.CPU]]
    assert [r.getMessage() for r in caplog.records] == [f"onnxruntime session {path.name}: provider {runtime.CUDA}"]


def test_factory_rejects_bad_options_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="device"):
        RuntimeOptions(device="tpu")
    with pytest.raises(FileNotFoundError):
        SessionFactory()(tmp_path / "absent.onnx")


# ---- FaceAnalyzer with stand-in parts ----------------------------------------------------------------------


class FixedDetector:
    def __init__(self, dets: list[Detection]):
        self.dets = dets
        self.calls: list[tuple] = []

    def detect(self, image_bgr, *, max_faces=0, min_size=0):
        self.calls.append((image_bgr.shape, max_faces, min_size))
        return list(self.dets[: max_faces or None])


class CountingEmbedder:
    dim, name, version = 3, "stub", "stub:1"

    def __init__(self):
        self.batches: list[int] = []

    def embed(self, aligned):
        self.batches.append(len(aligned))
        return np.tile(np.array([1.0, 0, 0], np.float32), (len(aligned), 1))


class LabelEmotion:
    """Any object with classify(image, detections) will do."""

    def classify(self, image_bgr, detections):
        return [Emotion(label="happy", probs={"happy": 1.0}, confidence=1.0) for _ in detections]


def fake_detection(x: float, y: float, size: float = 60) -> Detection:
    kps = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32) * size + [x, y]
    return Detection(box=np.array([x, y, x + size, y + size], np.float32), score=0.9, kps=kps.astype(np.float32))


def test_analyze_chains_detection_alignment_quality_embedding_and_emotion():
    image = np.random.default_rng(0).integers(0, 255, (400, 600, 3), dtype=np.uint8)
    detector = FixedDetector([fake_detection(50, 50), fake_detection(300, 200, 90)])
    embedder = CountingEmbedder()
    analyzer = FaceAnalyzer(detector, embedder, LabelEmotion())
    faces = analyzer.analyze(image)
    assert len(faces) == 2 and all(isinstance(f, Face) for f in faces)
    assert embedder.batches == [2]  # one batched call
    for f in faces:
        assert f.aligned.shape == (112, 112, 3)
        assert f.embedding.tolist() == [1.0, 0, 0]
        assert f.emotion.label == "happy"
        assert f.quality.face_px == pytest.approx(f.detection.short_side)
        assert f.box is f.detection.box and f.kps is f.detection.kps and f.score == 0.9
    bare = analyzer.analyze(image, embed=False, emotion=False, max_faces=1, min_size=20)
    assert len(bare) == 1 and bare[0].embedding is None and bare[0].emotion is None
    assert detector.calls[-1][1:] == (1, 20)
    assert embedder.batches == [2]


def test_no_faces_means_no_model_calls():
    embedder = CountingEmbedder()
    analyzer = FaceAnalyzer(FixedDetector([]), embedder, LabelEmotion(), tight_crops="never")
    assert analyzer.analyze(np.zeros((50, 50, 3), np.uint8)) == []
    assert embedder.batches == []


def test_padding_policy_shifts_coordinates_back():
    # A detector stand-in that reports a face at a fixed place of whatever image it is given.
    detector = FixedDetector([fake_detection(100, 100, 100)])
    analyzer = FaceAnalyzer(detector, None, tight_crops="always", pad_ratio=0.5)
    (face,) = analyzer.analyze(np.zeros((200, 300, 3), np.uint8))
    assert detector.calls[-1][0] == (400, 600, 3)  # padded by half the width / height on each side
    assert face.box.tolist() == [0, 0, 50, 100]  # (100-150, 100-100, 200-150, 200-100), clipped at 0
    assert np.allclose(face.kps[0], [100 + 30 - 150, 100 + 40 - 100])
    with pytest.raises(ValueError, match="tight_crops"):
        FaceAnalyzer(detector, None, tight_crops="sometimes")


# ---- tight face crops with the real detectors --------------------------------------------------------------


def test_plain_scrfd_and_yunet_miss_tight_chips(scrfd, yunet, john_chips):
    """Why the padding exists: a 150x150 chip resized up to 640 has no face for SCRFD (YuNet misses most)."""
    chips = [cv2.imread(str(p)) for paths in john_chips.values() for p in paths[:2]]
    assert sum(len(scrfd.detect(c)) for c in chips) == 0
    assert sum(len(yunet.detect(c)) == 1 for c in chips) < len(chips)


def test_every_chip_gives_exactly_one_face_through_the_analyzer(detector, john_chips):
    analyzer = FaceAnalyzer(detector, None)
    for paths in john_chips.values():
        for path in paths:
            chip = cv2.imread(str(path))
            faces = analyzer.analyze(chip, embed=False, emotion=False)
            assert len(faces) == 1, path.name
            box, kps = faces[0].box, faces[0].kps
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= 150 and box[3] <= 150
            assert np.all((kps > 10) & (kps < 140)), path.name  # dlib chips put eyes/mouth well inside


def test_large_tight_crop_needs_the_retry(scrfd, john_chips):
    """A 600x600 face-filling crop is above small_side: "auto" finds it on the padded retry, "small" not."""
    chip = cv2.resize(cv2.imread(str(next(iter(john_chips.values()))[0])), (600, 600))
    assert len(FaceAnalyzer(scrfd, None, tight_crops="auto").detect(chip)) == 1
    assert FaceAnalyzer(scrfd, None, tight_crops="small").detect(chip) == []
    assert FaceAnalyzer(scrfd, None, tight_crops="never").detect(chip) == []


def test_tiny_image_gives_no_face(scrfd):
    assert FaceAnalyzer(scrfd, None).analyze(np.full((1, 1, 3), 100, np.uint8)) == []


# ---- from_pack ---------------------------------------------------------------------------------------------


class StubStore:
    """Looks up files in the real weights folder but pretends some models are missing."""

    def __init__(self, model_path, missing=()):
        self.model_path = model_path
        self.missing = set(missing)

    def path(self, name: str) -> Path:
        from recognition.engine.model_store import ModelMissing

        if name in self.missing:
            raise ModelMissing(f"model {name}: missing")
        return self.model_path(name)


PACKS = {
    "arcface": {"detector": "scrfd_500m", "embedder": "arcface_mbf", "emotion": "fer_minixception"},
    "open": {"detector": "yunet_2023mar", "embedder": "sface_2021dec"},
}


def test_from_pack_builds_the_named_models(model_path, session_factory, astronaut):
    analyzer = FaceAnalyzer.from_pack(
        "open",
        StubStore(model_path),
        session_factory,
        packs=PACKS,
        detector_options={"score_threshold": 0.85},
        tight_crops="small",
    )
    assert type(analyzer.detector).__name__ == "YuNet" and analyzer.detector.score_threshold == 0.85
    assert analyzer.embedder.name == "sface_2021dec" and analyzer.embedder.dim == 128
    assert analyzer.emotion is None and analyzer.tight_crops == "small"
    (face,) = analyzer.analyze(astronaut)
    assert face.embedding.shape == (128,)


def test_from_pack_loads_emotion_when_present_and_skips_it_when_missing(model_path, session_factory, astronaut):
    with_emotion = FaceAnalyzer.from_pack("arcface", StubStore(model_path), session_factory, packs=PACKS)
    if with_emotion.emotion is None:
        pytest.fail("the pack names an emotion model that is present, but none was loaded")
    (face,) = with_emotion.analyze(astronaut)
    assert face.emotion is not None and sum(face.emotion.probs.values()) == pytest.approx(1.0, abs=1e-3)
    without = FaceAnalyzer.from_pack(
        "arcface", StubStore(model_path, missing={"fer_minixception"}), session_factory, packs=PACKS
    )
    assert without.emotion is None and without.embedder.dim == 512
    with pytest.raises(KeyError, match="unknown model pack"):
        FaceAnalyzer.from_pack("nope", StubStore(model_path), session_factory, packs=PACKS)


# ---- quality -----------------------------------------------------------------------------------------------


def test_quality_on_frontal_and_turned_faces(scrfd, astronaut, faces_data):
    analyzer = FaceAnalyzer(scrfd, None)
    (face,) = analyzer.analyze(astronaut, embed=False)
    q = face.quality
    assert abs(q.yaw) < 10 and abs(q.pitch) < 20
    assert q.face_px == pytest.approx(min(face.box[2] - face.box[0], face.box[3] - face.box[1]))
    assert 30 < q.brightness < 230 and q.blur > 0
    # Kit Harington looking towards the image's left (measured about -33 degrees); his mirror image, right.
    turned = cv2.imread(str(faces_data / "identities" / "facerec_kit_harington" / "2.jpeg"))
    (left,) = analyzer.analyze(turned, embed=False)
    (right,) = analyzer.analyze(np.ascontiguousarray(turned[:, ::-1]), embed=False)
    assert left.quality.yaw < -20 and right.quality.yaw > 20

    blurred = assess(face.detection, cv2.GaussianBlur(face.aligned, (0, 0), 3))
    darker = assess(face.detection, (face.aligned * 0.4).astype(np.uint8))
    assert blurred.blur < q.blur / 3
    assert darker.brightness < q.brightness * 0.5


def test_head_pose_from_keypoints():
    frontal = np.array([[40, 50], [72, 50], [56, 68.6], [43, 82], [69, 82]], np.float32)  # nose at 0.58 height
    yaw, pitch = head_pose(frontal)
    assert abs(yaw) < 1 and abs(pitch) < 1
    turned = frontal.copy()
    turned[2, 0] += 15  # nose towards the image's right
    assert head_pose(turned)[0] > 25
    mirrored = (turned * [-1, 1])[[1, 0, 2, 4, 3]]  # a mirror swaps which eye is image-left
    assert head_pose(mirrored)[0] == pytest.approx(-head_pose(turned)[0], abs=1e-6)
    up = frontal.copy()
    up[2, 1] -= 10  # nose closer to the eyes: head tilted up
    assert head_pose(up)[1] > 15
    # Rolling the whole face changes neither.
    m = cv2.getRotationMatrix2D((56, 56), 40, 1.0)
    rolled = turned @ m[:, :2].T + m[:, 2]
    assert head_pose(rolled)[0] == pytest.approx(head_pose(turned)[0], abs=0.5)
    assert head_pose(rolled)[1] == pytest.approx(head_pose(turned)[1], abs=0.5)
