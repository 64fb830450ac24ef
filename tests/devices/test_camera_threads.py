"""The camera worker's process runs each ONNX call on its caller's thread (one thread per camera)."""

import pytest
from django.core.management import call_command

from recognition import inference


@pytest.fixture
def restore_threads():
    yield
    inference.use_intra_op_threads(None)


def test_use_intra_op_threads_rebuilds_the_sessions_with_that_many_threads(settings, restore_threads):
    settings.ORT_INTRA_OP_THREADS = 0
    inference.use_intra_op_threads(None)
    assert inference.session_factory()._session_options().intra_op_num_threads == 0
    inference.use_intra_op_threads(1)
    assert inference.session_factory()._session_options().intra_op_num_threads == 1
    inference.use_intra_op_threads(None)
    assert inference.session_factory()._session_options().intra_op_num_threads == 0


@pytest.mark.django_db
def test_run_cameras_uses_the_camera_setting(settings, restore_threads, monkeypatch):
    settings.CAMERA_ORT_INTRA_OP_THREADS = 1
    seen = []
    monkeypatch.setattr(
        "devices.camera_worker.CameraWorker.run",
        lambda self, stop: seen.append(inference.session_factory()._session_options().intra_op_num_threads),
    )
    call_command("run_cameras", "--worker-id", "t")
    assert seen == [1]
