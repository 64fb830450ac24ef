"""Expression accuracy of the emotion classifier on shared/data/faces/emotions (FER-2013 test images).

    python -m bench.emotion_accuracy --data ../shared/data/faces [--json OUT.json] [--model PATH]

FER-2013 images are 48x48 gray face crops, so they are classified whole (no detection). Rows of other
sets (e.g. Yale, full photos that would need a face box) are counted as skipped. Accuracy is top-1 over
all images (argmax of the probabilities, whatever the "uncertain" threshold says); the uncertain rate and
the accuracy of the confident answers are reported beside it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from bench.harness import write_json
from recognition.engine.emotion import EmotionClassifier
from recognition.engine.types import EMOTION_LABELS

CROP_SETS = ("fer2013_test",)  # sets whose images are already face crops
# (name, classifier options): the default configuration first, then the plain model as a baseline.
VARIANTS: tuple[tuple[str, dict], ...] = (
    ("fer_minixception", {"tta": True}),
    ("fer_minixception_no_tta", {"tta": False}),
)


def _default_model() -> Path:
    from recognition.engine.model_store import ModelStore

    return ModelStore().path("fer_minixception")


def load_emotion_set(data_dir: Path) -> tuple[list[np.ndarray], np.ndarray, list[str], int]:
    """Gray crops, label indices, set names of the usable rows, and the number of rows skipped."""
    labels_csv = Path(data_dir) / "emotions" / "labels.csv"
    if not labels_csv.is_file():
        raise FileNotFoundError(f"no emotion data: {labels_csv} is missing")
    images, y, sets, skipped = [], [], [], 0
    with labels_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            path = Path(data_dir) / row["path"]
            if row["set"] not in CROP_SETS or row["label"] not in EMOTION_LABELS or not path.is_file():
                skipped += 1
                continue
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if img is None:
                skipped += 1
                continue
            images.append(img)
            y.append(EMOTION_LABELS.index(row["label"]))
            sets.append(row["set"])
    return images, np.asarray(y, dtype=np.int64), sets, skipped


def score(probs: np.ndarray, y: np.ndarray, uncertain_below: float = 0.4) -> dict:
    """Accuracy, per-class recall and confusion (rows = true, columns = predicted, EMOTION_LABELS order)."""
    k = len(EMOTION_LABELS)
    pred = probs.argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    support = confusion.sum(axis=1)
    recall = {lab: (float(confusion[i, i] / support[i]) if support[i] else None)
              for i, lab in enumerate(EMOTION_LABELS)}
    certain = probs.max(axis=1) >= uncertain_below
    return {
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "per_class_recall": recall,
        "confusion": confusion.tolist(),
        "n": int(len(y)),
        "uncertain_rate": float(1.0 - certain.mean()) if len(y) else 0.0,
        "accuracy_when_certain": float((pred == y)[certain].mean()) if certain.any() else None,
    }


def run(data_dir: Path, model_path: Path | None = None, session_factory=None) -> dict:
    """{"emotion": {variant: {"accuracy", "per_class_recall", "confusion", "n", ...}}, plus "subsets"}."""
    images, y, sets, skipped = load_emotion_set(Path(data_dir))
    if session_factory is None:
        from recognition.engine.runtime import SessionFactory

        session_factory = SessionFactory()
    model_path = Path(model_path) if model_path else _default_model()
    out: dict[str, dict] = {}
    for name, opts in VARIANTS:
        clf = EmotionClassifier(model_path, session_factory, **opts)
        emotions = clf.classify_crops(images)
        probs = np.array([[e.probs[lab] for lab in EMOTION_LABELS] for e in emotions]).reshape(-1, 7)
        result = score(probs, y, clf.uncertain_below)
        sets_arr = np.asarray(sets)
        result["subsets"] = {s: score(probs[sets_arr == s], y[sets_arr == s])["accuracy"]
                             for s in sorted(set(sets))}
        result["skipped"] = skipped
        out[name] = result
    return {"emotion": out}


def format_table(results: dict) -> str:
    lines = []
    for name, r in results["emotion"].items():
        subsets = ", ".join(f"{s} {a:.3f}" for s, a in r["subsets"].items())
        lines.append(f"{name}: accuracy {r['accuracy']:.3f} (n={r['n']}, skipped {r['skipped']}; {subsets}); "
                     f"uncertain {r['uncertain_rate']:.1%}, accuracy when certain "
                     f"{(r['accuracy_when_certain'] or 0):.3f}")
        lines.append("  recall: " + "  ".join(f"{lab} {v:.2f}" for lab, v in r["per_class_recall"].items()
                                             if v is not None))
        short = [lab[:4] for lab in EMOTION_LABELS]
        lines.append("  confusion (rows true, cols predicted):")
        lines.append("         " + " ".join(f"{s:>5}" for s in short))
        for lab, row in zip(short, r["confusion"], strict=True):
            lines.append(f"    {lab:>4} " + " ".join(f"{v:>5}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/data/faces")
    parser.add_argument("--model", type=Path, default=None, help="converted ONNX (default: the model store's)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    results = run(args.data, args.model)
    print(format_table(results))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
