"""Accounts: self sign-up with the webcam, liveness, consent (read by accounts/conf.py).

Sign-up keeps SIGNUP_PHOTOS good webcam frames (one sharp face, big enough, poses at least SIGNUP_MIN_POSE_STEP
degrees apart) and enrolls them; it finishes with SIGNUP_MIN_PHOTOS or more when the SIGNUP_CAPTURE_SECONDS round
ends. Kept frames wait in SIGNUP_PENDING_DIR until they are enrolled (then they live under MEDIA_ROOT like every
face image).
"""

from pathlib import Path

from facesite.settings.paths import VAR_DIR, env

SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)  # False: only admins create accounts
SIGNUP_PHOTOS = env.int("SIGNUP_PHOTOS", default=6)
SIGNUP_MIN_PHOTOS = env.int("SIGNUP_MIN_PHOTOS", default=4)
SIGNUP_CAPTURE_SECONDS = env.int("SIGNUP_CAPTURE_SECONDS", default=20)
SIGNUP_FRAME_INTERVAL_MS = env.int("SIGNUP_FRAME_INTERVAL_MS", default=400)
SIGNUP_MIN_POSE_STEP = env.float("SIGNUP_MIN_POSE_STEP", default=6.0)  # degrees of yaw/pitch between kept photos
SIGNUP_MAX_FRAME_BYTES = env.int("SIGNUP_MAX_FRAME_BYTES", default=2 * 1024 * 1024)
SIGNUP_PENDING_DIR = Path(env("SIGNUP_PENDING_DIR", default=str(VAR_DIR / "signup")))
SIGNUP_ATTEMPTS_PER_HOUR = env.int("SIGNUP_ATTEMPTS_PER_HOUR", default=10)  # sign-up posts per address (429 above)
# Liveness: before a webcam capture keeps photos, the person does LIVENESS_STEPS head movements the server picks
# at random (turn left/right, look up/down), checked on the frames within LIVENESS_TIMEOUT_S; the page sends
# frames every LIVENESS_FRAME_INTERVAL_MS meanwhile (continuity needs a few frames per second).
LIVENESS_REQUIRED = env.bool("LIVENESS_REQUIRED", default=True)
LIVENESS_STEPS = env.int("LIVENESS_STEPS", default=2)
LIVENESS_TIMEOUT_S = env.float("LIVENESS_TIMEOUT_S", default=20.0)
LIVENESS_FRAME_INTERVAL_MS = env.int("LIVENESS_FRAME_INTERVAL_MS", default=120)
# What a person agrees to; a new text needs a new version (each consent row keeps the text and version shown).
CONSENT_VERSION = env("CONSENT_VERSION", default="1")
CONSENT_TEXT = env(
    "CONSENT_TEXT",
    default="I agree that this site stores photos of my face and numeric face templates computed from them, "
    "to recognise me on its cameras and record my attendance. I can delete my photos and face templates at any "
    "time from my profile; attendance already recorded is then anonymised or kept as the site's settings say.",
)
