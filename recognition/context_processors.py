from django.http import HttpRequest

from recognition.inference import active_pack


def model_pack(request: HttpRequest) -> dict:
    """The active face model pack and its licence, shown in the admin and page footers."""
    return {"model_pack": active_pack()}
