"""Signals that devices (kiosks, cameras, the camera worker) send and integrations turns into webhooks and MQTT
messages. Defined here so the sender needs nothing of integrations but these two names; send them after the
change has committed (transaction.on_commit), with send_robust so a broken listener never stops a camera.

`device` is the device's model instance; integrations reads only `pk`, `name`, `kind` (optional) and `location`
(optional; its `pk` and `name`). Times are aware datetimes.
"""

from django.dispatch import Signal

# A device went online or offline. Arguments: device, online (bool), at (datetime, default now), reason (str,
# optional: "lease expired", "stream error: ...", shown to receivers as is).
device_status_changed = Signal()

# An unrecognised face has stayed in front of a device for UNKNOWN_FACE_ALERT_S seconds or longer: send once per
# track when it crosses that line. Arguments: device, seen_s (float, how long so far), first_seen_at (datetime),
# track (str, optional: the stream's track id), nearest_score (float or None: the best gallery score, too low
# to name anyone). Sightings shorter than UNKNOWN_FACE_ALERT_S are ignored here.
unknown_face_seen = Signal()
