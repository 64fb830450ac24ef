"""Attendance (read by attendance/conf.py). Days use TIME_ZONE.

Cooldown: one event per person per source per visit. Gap: a sighting this long after the check-in is a
check-out. Exit sources: a sighting there is a check-out. Erasure: anonymise the rows, or keep them and drop
only their face crops. Evidence: the crop's longest side; retention 0 keeps no crops at all.
"""

from facesite.settings.paths import env

ATTENDANCE_COOLDOWN_S = env.int("ATTENDANCE_COOLDOWN_S", default=300)
ATTENDANCE_CHECKOUT_GAP_S = env.int("ATTENDANCE_CHECKOUT_GAP_S", default=3600)
ATTENDANCE_EXIT_SOURCES = env.list("ATTENDANCE_EXIT_SOURCES", default=["exit"])
ATTENDANCE_ANONYMISE_ON_ERASURE = env.bool("ATTENDANCE_ANONYMISE_ON_ERASURE", default=True)
ATTENDANCE_EVIDENCE_PX = env.int("ATTENDANCE_EVIDENCE_PX", default=96)
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=30)
# The emotion chart (/attendance/emotions/) is for operators; members see their own emotions there only when on.
ATTENDANCE_EMOTIONS_FOR_MEMBERS = env.bool("ATTENDANCE_EMOTIONS_FOR_MEMBERS", default=False)
