"""Device secrets: hashes for kiosk credentials and pairing codes, encryption for camera stream passwords.

The stream password is encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY, so a
database dump alone does not reveal it; rotating SECRET_KEY means entering the camera passwords again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(token: str, stored: str) -> bool:
    return bool(stored) and hmac.compare_digest(hash_token(token), stored)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_pairing_code() -> str:
    """Eight characters a person can type on a tablet (no 0/O/1/I), about 40 bits."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def _fernet() -> Fernet:
    key = hashlib.sha256(b"facesite.devices.stream-secret:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    """The stored secret in the clear; "" when it cannot be read (SECRET_KEY changed)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def split_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password): the password is kept apart and never shown back."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def join_password(url: str, password: str) -> str:
    """The URL a reader opens: the password put back into its user info."""
    if not password:
        return url
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def redact(text: str) -> str:
    """An error message with any user:password@ in a URL removed (OpenCV and FFmpeg messages quote the URL)."""
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)
