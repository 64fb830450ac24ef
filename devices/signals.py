"""Signals of the devices domain, for apps that tell other systems (webhooks, MQTT) without devices knowing them.

device_status_changed: sent after a device's status changes and the change commits (a kiosk connects or goes
away, a camera worker starts reading a stream, loses it, or stops). Arguments:
    device    the Device (its `status`, `last_seen`, `last_error` as now stored)
    previous  the status before, one of devices.models.Status
    status    the status now (online, offline, error)
Receivers run after the commit, outside the transaction; an exception in one is logged, not raised.
"""

from django.dispatch import Signal

device_status_changed = Signal()
