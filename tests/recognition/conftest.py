"""Every recognition test stores its files under a MEDIA_ROOT of its own (tmp), as its subprocesses do."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media(media_root: Path) -> Path:
    return media_root
