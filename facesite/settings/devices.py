"""Places and devices: kiosks and IP cameras (read by devices/conf.py).

A kiosk pairs with a one-time code valid DEVICE_PAIRING_TTL_S and then carries its credential in the KIOSK_COOKIE
cookie. The camera worker (`manage.py run_cameras`) leases up to CAMERA_WORKER_MAX cameras for CAMERA_LEASE_S at a
time (renewed every third of it; a dead worker's cameras are taken over when it lapses), processes at most
CAMERA_MAX_FPS frames a second per camera (newer frames replace older, never queue), and reconnects a lost stream
after 1, 2, 4 ... up to CAMERA_RECONNECT_MAX_S seconds; a read that waits CAMERA_READ_TIMEOUT_S counts as lost.
"""

from facesite.settings.paths import env

DEVICE_PAIRING_TTL_S = env.int("DEVICE_PAIRING_TTL_S", default=15 * 60)
KIOSK_COOKIE = env("KIOSK_COOKIE", default="facesite_kiosk")
KIOSK_PAIR_ATTEMPTS_PER_HOUR = env.int("KIOSK_PAIR_ATTEMPTS_PER_HOUR", default=20)  # per address
CAMERA_LEASE_S = env.float("CAMERA_LEASE_S", default=30.0)
CAMERA_WORKER_MAX = env.int("CAMERA_WORKER_MAX", default=8)
CAMERA_MAX_FPS = env.float("CAMERA_MAX_FPS", default=10.0)
CAMERA_RECONNECT_MAX_S = env.float("CAMERA_RECONNECT_MAX_S", default=30.0)
CAMERA_READ_TIMEOUT_S = env.float("CAMERA_READ_TIMEOUT_S", default=10.0)
# The camera worker runs one inference thread per camera; each ONNX call then runs on its caller's thread (0:
# onnxruntime's pool of one thread per core in every call, which contends when eight cameras call at once).
CAMERA_ORT_INTRA_OP_THREADS = env.int("CAMERA_ORT_INTRA_OP_THREADS", default=1)
