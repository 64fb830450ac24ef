"""Detectors: one interface, boxes and keypoints in original coordinates for any size/aspect, NMS, options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from recognition.engine.detectors import SCRFD, Detector, RetinaFace, YOLOv8Face, YuNet, detector_class
from recognition.engine.detectors.base import finalize, letterbox, nms
from recognition.engine.types import Detection

MARGIN = 12  # px of background kept around the face in the pasted crop: the face lands ~12 px from a border


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def face_crop(astronaut, retinaface) -> np.ndarray:
    """The astronaut's face with a thin margin of its own background."""
    (det,) = retinaface.detect(astronaut)
    x1, y1, x2, y2 = det.box.astype(int)
    return astronaut[y1 - MARGIN : y2 + MARGIN, x1 - MARGIN : x2 + MARGIN].copy()


def reference(detector, crop: np.ndarray) -> Detection:
    """Where ``detector`` puts the face inside the crop (crop centred on a plain 640x640 canvas)."""
    canvas = np.full((640, 640, 3), 128, np.uint8)
    h, w = crop.shape[:2]
    canvas[200 : 200 + h, 200 : 200 + w] = crop
    (det,) = detector.detect(canvas)
    return Detection(box=det.box - 200, score=det.score, kps=det.kps - 200)


def test_every_detector_satisfies_the_protocol(scrfd, retinaface, yunet):
    for det in (scrfd, retinaface, yunet):
        assert isinstance(det, Detector)


def test_single_face_with_keypoints_in_order(detector, astronaut):
    (face,) = detector.detect(astronaut)
    assert face.box.dtype == np.float32 and face.box.shape == (4,)
    assert face.kps.dtype == np.float32 and face.kps.shape == (5, 2)
    eye_l, eye_r, nose, mouth_l, mouth_r = face.kps
    assert eye_l[0] < eye_r[0] and mouth_l[0] < mouth_r[0]  # image-left first
    assert max(eye_l[1], eye_r[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    x1, y1, x2, y2 = face.box
    assert np.all(
        (face.kps[:, 0] > x1) & (face.kps[:, 0] < x2) & (face.kps[:, 1] > y1) & (face.kps[:, 1] < y2)
    )


@pytest.mark.parametrize(
    "size", [(1600, 600), (600, 1600), (300, 560), (1920, 1080)], ids=["landscape", "portrait", "small", "hd"]
)
def test_faces_near_each_border_map_back_to_original_coordinates(detector, face_crop, size):
    ref = reference(detector, face_crop)
    width, height = size
    ch, cw = face_crop.shape[:2]
    canvas = np.full((height, width, 3), 128, np.uint8)
    corners = [(0, 0), (width - cw, 0), (0, height - ch), (width - cw, height - ch)]
    for x, y in corners:
        canvas[y : y + ch, x : x + cw] = face_crop
    found = detector.detect(canvas)
    assert len(found) == 4
    for x, y in corners:
        want_box = ref.box + np.array([x, y, x, y], np.float32)
        want_kps = ref.kps + np.array([x, y], np.float32)
        best = max(found, key=lambda d: iou(d.box, want_box))
        assert iou(best.box, want_box) >= 0.75, (x, y, best.box, want_box)
        face_w = want_box[2] - want_box[0]
        assert np.abs(best.kps - want_kps).max() < 0.15 * face_w, (x, y)


def test_max_faces_keeps_the_largest_and_min_size_drops_small(detector, face_crop):
    import cv2

    small = cv2.resize(face_crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.full((640, 900, 3), 128, np.uint8)
    canvas[40 : 40 + small.shape[0], 40 : 40 + small.shape[1]] = small
    canvas[300 : 300 + face_crop.shape[0], 600 : 600 + face_crop.shape[1]] = face_crop
    both = detector.detect(canvas)
    assert len(both) == 2
    (largest,) = detector.detect(canvas, max_faces=1)
    assert largest.box[0] > 500  # the full-size copy on the right
    sizes = sorted(d.short_side for d in both)
    big_only = detector.detect(canvas, min_size=(sizes[0] + sizes[1]) / 2)
    assert len(big_only) == 1 and big_only[0].box[0] > 500


def test_blank_and_tiny_images_give_no_faces(detector):
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.detect(np.full((1, 1, 3), 200, np.uint8)) == []


def test_gray_input_is_accepted(detector, astronaut):
    import cv2

    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    assert len(detector.detect(gray)) == 1


def test_detection_recall_on_pascal_group_photo(detector, faces_data):
    import csv

    import cv2

    rows = [
        r
        for r in csv.DictReader((faces_data / "group/dlib_pascal_voc/boxes.csv").open())
        if r["image"].endswith("2008_002470.jpg")
    ]
    gt = [
        np.array(
            [
                float(r["left"]),
                float(r["top"]),
                float(r["left"]) + float(r["width"]),
                float(r["top"]) + float(r["height"]),
            ]
        )
        for r in rows
    ]
    found = detector.detect(cv2.imread(str(faces_data / rows[0]["image"])))
    matched = sum(any(iou(d.box, g) >= 0.4 for d in found) for g in gt)
    assert matched == len(gt) and len(found) == len(gt)


def test_nms_suppresses_overlaps_and_keeps_best_first():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.7], np.float32)
    assert nms(boxes, scores, 0.4).tolist() == [1, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.4).tolist() == []


def test_finalize_clips_to_image():
    dets = finalize(
        np.array([[-5, -5, 50, 60]]),
        np.array([0.9]),
        np.zeros((1, 5, 2)),
        image_shape=(40, 30, 3),
        nms_threshold=0.4,
    )
    assert dets[0].box.tolist() == [0, 0, 30, 40]


@pytest.mark.parametrize("center", [False, True])
def test_letterbox_maps_points_back(center):
    image = np.zeros((300, 500, 3), np.uint8)
    lb = letterbox(image, 640, 640, center=center)
    point = np.array([[250.0, 150.0]])
    canvas_pt = point * lb.scale + [lb.pad_x, lb.pad_y]
    assert np.allclose(lb.to_image(canvas_pt), point, atol=1e-3)
    assert lb.canvas.shape == (640, 640, 3)
    assert (lb.pad_y > 0) == center


def test_detector_class_by_manifest_name():
    assert detector_class("scrfd_500m") is SCRFD
    assert detector_class("retinaface_mnet025") is RetinaFace
    assert detector_class("yunet_2023mar") is YuNet
    assert detector_class("yolov8n_face") is YOLOv8Face
    with pytest.raises(KeyError):
        detector_class("mtcnn")


# ---- YOLOv8-face: a stand-in ONNX graph that emits the export layout with known boxes ----------------------
def _yolo_rows(cx, cy, w, h, score, kps) -> list[float]:
    row = [cx, cy, w, h, score]
    for x, y in kps:
        row += [x, y, 0.9]
    return row


def _yolo_model(tmp: Path, rows: list[list[float]], transposed: bool = False) -> Path:
    """images (1,3,640,640) -> output0 = constant (1,20,N) + 0 * mean(images)."""
    out = np.asarray(rows, np.float32).T[None]  # (1, 20, N)
    if transposed:
        out = out.transpose(0, 2, 1)
    const = helper.make_tensor("raw", TensorProto.FLOAT, out.shape, out.ravel().tolist())
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["raw", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "yolov8_face_stub",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out.shape))],
        initializer=[const, zero],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp / ("yolo_t.onnx" if transposed else "yolo.onnx")
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("transposed", [False, True])
def test_yolov8_decoder_maps_known_boxes(tmp_path, session_factory, transposed):
    # A 1280x720 image letterboxes into 640x640 at scale 0.5, centred: 140 px of padding above and below.
    face_a = (
        np.array([100, 200, 300, 420.0]),
        np.array([[150, 280], [250, 280], [200, 330], [160, 380], [240, 380.0]]),
    )
    face_b = (
        np.array([900, 100, 1000, 220.0]),
        np.array([[920, 140], [980, 140], [950, 170], [925, 200], [975, 200.0]]),
    )

    def to_canvas(box, kps, score, jitter=0.0):
        b = box * 0.5 + [0, 140, 0, 140] + jitter
        k = kps * 0.5 + [0, 140]
        return _yolo_rows((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1], score, k)

    rows = [
        to_canvas(*face_a, 0.92),
        to_canvas(*face_a, 0.80, jitter=2.0),  # a near-duplicate: NMS must drop it
        to_canvas(*face_b, 0.75),
        to_canvas(np.array([500, 500, 600, 600.0]), face_b[1], 0.10),  # below the score threshold
    ]
    det = YOLOv8Face(_yolo_model(tmp_path, rows, transposed), session_factory)
    found = det.detect(np.zeros((720, 1280, 3), np.uint8))
    assert [round(d.score, 2) for d in found] == [0.92, 0.75]
    for d, (box, kps) in zip(found, (face_a, face_b), strict=True):
        assert np.allclose(d.box, box, atol=0.05)
        assert np.allclose(d.kps, kps, atol=0.05)
    (largest,) = det.detect(np.zeros((720, 1280, 3), np.uint8), max_faces=1)
    assert np.allclose(largest.box, face_a[0], atol=0.05)


def test_yolov8_rejects_an_unexpected_layout(tmp_path, session_factory):
    det = YOLOv8Face(_yolo_model(tmp_path, [_yolo_rows(1, 1, 1, 1, 0.9, [(0, 0)] * 5)]), session_factory)
    with pytest.raises(ValueError, match="unexpected YOLOv8-face output"):
        det.decode(np.zeros((1, 16, 8), np.float32))
