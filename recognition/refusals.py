"""Why enrollment refused something, as codes with parameters; the words are made here, once, for the edges
(batch errors, rejection reasons, the capture page), so rewording a message never changes behaviour.

No refusal a member can see names another person, or says whether a face matched someone else or only failed
to match the member's own photos: either answer would tell a member who else is enrolled.
"""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    IDENTITY_CONFLICT = "identity_conflict"  # a member's face: unlike their own photos, or like someone else's
    SAME_IMAGE_ELSEWHERE = "same_image_elsewhere"  # these bytes are enrolled for another person
    NAME_OF_ACCOUNT = "name_of_account"  # enrollment by name would add to a Person that belongs to an account
    NAME_IN_RECYCLE_BIN = "name_in_recycle_bin"  # ... to a Person in the recycle bin (never silently revived)
    NAME_OF_WITHDRAWN = "name_of_withdrawn"  # ... would re-enroll, by name, an account that withdrew consent


_WORDS = {
    Refusal.IDENTITY_CONFLICT: "could not be confirmed as the same person; held for review by staff",
    Refusal.SAME_IMAGE_ELSEWHERE: "conflict: the same image is already enrolled for {holder}",
    Refusal.NAME_OF_ACCOUNT: "{name!r} belongs to a member's account: enrollment by name never adds to it "
    "(use another name, or choose the person in the upload form)",
    Refusal.NAME_IN_RECYCLE_BIN: "{name!r} is in the recycle bin: restore the person first (enrollment by name "
    "never revives a deleted person)",
    Refusal.NAME_OF_WITHDRAWN: "{name!r} is the name of an account that withdrew consent to biometric processing: "
    "enrollment by name never re-enrolls it",
}


def refusal_words(code: Refusal | str, **params: object) -> str:
    """The sentence for a refusal. SAME_IMAGE_ELSEWHERE names the holder only when `holder` is given (staff)."""
    code = Refusal(code)
    if code is Refusal.SAME_IMAGE_ELSEWHERE:
        params.setdefault("holder", "another person")
    return _WORDS[code].format(**params)


def batch_error(filename: str, code: Refusal, **params: object) -> dict:
    """One entry of Enrollment.errors: the file, the code and its parameters, and the words for the pages."""
    return {"file": filename, "error": refusal_words(code, **params), "code": str(code), "params": params}
