"""The recognition app: model pack and inference, enrollment and its workers, live recognition, calibration."""

from facesite.settings.paths import env

# --- inference ---------------------------------------------------------------------------------------------------
FACE_MODEL_PACK = env("FACE_MODEL_PACK", default="arcface")  # "arcface" (non-commercial) or "open" (MIT/Apache)
INFERENCE_DEVICE = env("INFERENCE_DEVICE", default="auto")  # auto: CUDA when onnxruntime-gpu loads, else CPU
ORT_INTRA_OP_THREADS = env.int("ORT_INTRA_OP_THREADS", default=0)  # 0: onnxruntime's default
ORT_ALLOW_SPINNING = env.bool("ORT_ALLOW_SPINNING", default=False)

# --- enrollment ------------------------------------------------------------------------------------------------
ENROLL_MIN_FACE_PX = env.int("ENROLL_MIN_FACE_PX", default=40)  # short side of the face box
ENROLL_MIN_SHARPNESS = env.float("ENROLL_MIN_SHARPNESS", default=10.0)  # variance of Laplacian, aligned crop
ENROLL_MAX_YAW = env.float("ENROLL_MAX_YAW", default=50.0)  # degrees; beyond it the face is too far in profile
ENROLL_MULTIPLE_FACES = env("ENROLL_MULTIPLE_FACES", default="reject")  # "reject" or "largest"
ENROLL_CHUNK_SIZE = env.int("ENROLL_CHUNK_SIZE", default=16)  # images per worker task
# People who enroll themselves (sign-up) are searchable only once staff approve them in the admin.
ENROLL_SELF_APPROVAL = env.bool("ENROLL_SELF_APPROVAL", default=False)
ENROLL_MAX_FILES = env.int("ENROLL_MAX_FILES", default=10_000)
ENROLL_MAX_FILE_BYTES = env.int("ENROLL_MAX_FILE_BYTES", default=20 * 1024 * 1024)
ENROLL_MAX_TOTAL_BYTES = env.int("ENROLL_MAX_TOTAL_BYTES", default=2 * 1024**3)
RECYCLE_BIN_RETENTION_DAYS = env.int("RECYCLE_BIN_RETENTION_DAYS", default=30)
DATA_UPLOAD_MAX_NUMBER_FILES = ENROLL_MAX_FILES  # a folder picker sends one field per file
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # non-file form data; files stream to temporary files
# Images still pending after ENROLL_RESUME_INTERVAL_S (uploaded while the queue was down) are queued again.
ENROLL_RESUME_INTERVAL_S = env.int("ENROLL_RESUME_INTERVAL_S", default=300)
# A worker claims a pending image for ENROLL_CLAIM_LEASE_S (analysis runs outside any transaction); a dead
# worker's claim is taken over once it has expired.
ENROLL_CLAIM_LEASE_S = env.float("ENROLL_CLAIM_LEASE_S", default=120.0)

# --- live recognition ----------------------------------------------------------------------------------------
LIVE_DETECT_EVERY = env.int("LIVE_DETECT_EVERY", default=2)  # run detection every N frames; Kalman in between
LIVE_RECOGNIZE_EVERY = env.int("LIVE_RECOGNIZE_EVERY", default=15)  # re-recognise a confirmed track every N frames
# hnsw.ef_search of gallery searches: candidates the index keeps while it walks its graph. 200 found the exact
# nearest person for 100/100 probes of a 1M-embedding gallery (64: 95/100) at 13 ms p50; small galleries do not
# pay for it (the graph has few nodes to visit).
GALLERY_EF_SEARCH = env.int("GALLERY_EF_SEARCH", default=200)
# Embed and match the faces of a detection frame on the next frame, so no frame carries both (lower p95 latency).
LIVE_DEFER_RECOGNITION = env.bool("LIVE_DEFER_RECOGNITION", default=True)
EMOTION_UNCERTAIN_BELOW = env.float("EMOTION_UNCERTAIN_BELOW", default=0.4)  # smoothed confidence
LIVE_MAX_MESSAGE_BYTES = env.int("LIVE_MAX_MESSAGE_BYTES", default=1024 * 1024)  # one websocket frame
LIVE_MAX_FRAME_PIXELS = env.int("LIVE_MAX_FRAME_PIXELS", default=1920 * 1080)
LIVE_MAX_FPS = env.int("LIVE_MAX_FPS", default=60)  # frames a connection may send per second
# Inference in Channels workers (`manage.py runworker NAME`, e.g. on GPU machines) instead of the web process;
# needs REDIS_URL. Each stream sticks to one of these channel names. Empty: in-process (the default).
LIVE_INFERENCE_CHANNELS = env.list("LIVE_INFERENCE_CHANNELS", default=[])
LIVE_WORKER_TIMEOUT_S = env.float("LIVE_WORKER_TIMEOUT_S", default=10.0)
# A member's own /live/ page (their camera, anywhere) records attendance only when this allows it; operators'
# pages, kiosks and cameras always do.
LIVE_MEMBER_ATTENDANCE = env.bool("LIVE_MEMBER_ATTENDANCE", default=False)

# --- calibration -------------------------------------------------------------------------------------------------
# Calibration runs as a task on at most CALIBRATION_SAMPLE embeddings (sampled per person, deterministically).
CALIBRATION_SAMPLE = env.int("CALIBRATION_SAMPLE", default=20_000)
