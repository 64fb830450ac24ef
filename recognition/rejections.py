"""Why the quality gate rejected a photo or a frame, in words for people: the edge's half of
recognition.domain.quality (which decides with codes only). Stored as FaceImage.reject_reason beside the code
(reject_code), shown on the batch, profile and capture pages and by the CLI."""

from __future__ import annotations

from recognition.domain.quality import QualityCode, Rejection

_WORDS = {
    QualityCode.NO_FACE: "no face found",
    QualityCode.FACE_TOO_SMALL: "face too small ({value:.0f} px; at least {limit:.0f} px)",
    QualityCode.SEVERAL_FACES: "{value:.0f} faces found; an enrollment image must show exactly one",
    QualityCode.BLURRED: "too blurred (sharpness {value:.1f}; at least {limit:.1f})",
    QualityCode.TURNED_AWAY: "face turned too far to the side ({value:.0f} degrees; at most {limit:.0f})",
}
# Without the figures: one line per kind of rejection in a summary ("why so few photos?").
_SHORT = {
    QualityCode.NO_FACE: "no face found",
    QualityCode.FACE_TOO_SMALL: "face too small",
    QualityCode.SEVERAL_FACES: "more than one face",
    QualityCode.BLURRED: "too blurred",
    QualityCode.TURNED_AWAY: "face turned too far to the side",
}


def rejection_words(rejection: Rejection) -> str:
    """The sentence for one rejection, with its figures."""
    return _WORDS[rejection.code].format(value=rejection.value, limit=rejection.limit)


def rejection_kind(code: QualityCode | str) -> str:
    """The words for a kind of rejection, without figures."""
    return _SHORT[QualityCode(code)]
