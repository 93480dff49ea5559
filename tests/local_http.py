"""Local HTTP servers on 127.0.0.1 standing in for endpoints the tests cannot reach or must
misbehave (checkip.amazonaws.com, an STS that refuses a key, a web page where AWS was expected,
a proxy in front of the emulator).

`serve_forever` looks for a shutdown request every `poll_interval` seconds, 0.5 by default, so
stopping a server took up to half a second; a test stops one each time, and the suite waited for
it dozens of times. Polling every few milliseconds costs nothing measurable.
"""

from __future__ import annotations

import contextlib
import http.server
import socketserver
import threading
from typing import Iterator

POLL_SECONDS = 0.005


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[str]:
    """Run `server` in a thread while the block runs; its URL. Afterwards nothing listens on
    its port any more."""
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": POLL_SECONDS}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Handler(http.server.BaseHTTPRequestHandler):
    """A stand-in's request handler: `request_body` reads what was sent, `reply` sends a whole
    answer; nothing is logged."""

    def request_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass
