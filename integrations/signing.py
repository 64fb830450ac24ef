"""How a delivery is signed: HMAC-SHA256 with the subscription's secret over `timestamp + "." + body`.

Headers: X-Facesite-Timestamp (Unix seconds) and X-Facesite-Signature ("sha256=" + hex digest). The timestamp
is inside the signed text, so a receiver that also refuses old timestamps cannot be fed a replayed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

TIMESTAMP_HEADER = "X-Facesite-Timestamp"
SIGNATURE_HEADER = "X-Facesite-Signature"


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (the README shows the same in five lines)."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, header or "")
