"""The live fixtures (real frames, the Hamilton cast embedded from their photos) for the devices tests."""

from tests.live.conftest import hamilton_cast, hamilton_frames, live_analyzer  # noqa: F401
