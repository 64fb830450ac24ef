"""Signals that devices (kiosks, cameras, the camera worker) send and integrations turns into webhooks and MQTT
messages. Defined here so the sender needs nothing of integrations but this name; send them after the
change has committed (transaction.on_commit), with send_robust so a broken listener never stops a camera.

`device` is the device's model instance; integrations reads only `pk`, `name`, `kind` (optional) and `location`
(optional; its `pk` and `name`). Times are aware datetimes.
"""

from django.dispatch import Signal

# A device went online or offline. Arguments: device, online (bool), at (datetime, default now), reason (str,
# optional: "lease expired", "stream error: ...", shown to receivers as is).
device_status_changed = Signal()
