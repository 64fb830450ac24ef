"""Face detectors: one class per model family, all returning Detections in original image coordinates."""

from __future__ import annotations

from recognition.engine.detectors.base import Detector
from recognition.engine.detectors.retinaface import RetinaFace
from recognition.engine.detectors.scrfd import SCRFD
from recognition.engine.detectors.yolov8 import YOLOv8Face
from recognition.engine.detectors.yunet import YuNet

# Model-name prefix (as in models/manifest.toml) -> detector class.
DETECTOR_CLASSES: dict[str, type] = {
    "scrfd": SCRFD,
    "retinaface": RetinaFace,
    "yunet": YuNet,
    "yolov8": YOLOv8Face,
}


def detector_class(model_name: str) -> type:
    """The detector class for a manifest model name such as ``scrfd_500m`` or ``yunet_2023mar``."""
    for prefix, cls in DETECTOR_CLASSES.items():
        if model_name.lower().startswith(prefix):
            return cls
    raise KeyError(f"no detector class for model {model_name!r}; known prefixes: {sorted(DETECTOR_CLASSES)}")


__all__ = ["DETECTOR_CLASSES", "Detector", "RetinaFace", "SCRFD", "YOLOv8Face", "YuNet", "detector_class"]
