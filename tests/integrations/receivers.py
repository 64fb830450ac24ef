"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 that verifies each delivery's signature the
way the README tells receivers to, and keeps what it accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.accepted: list[dict] = []
        self.rejected = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/facesite"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-Facesite-Timestamp", "")
                signed = hmac.new(receiver.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
                fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
                if fresh and hmac.compare_digest("sha256=" + signed.hexdigest(),
                                                 self.headers.get("X-Facesite-Signature", "")):  # fmt: skip
                    receiver.accepted.append({"body": json.loads(body), "raw": body, "headers": self.headers})
                    self.send_response(204)
                else:
                    receiver.rejected += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
