"""Endpoints that fail the way networks do, for the fault tests: one that accepts connections and
never answers, and a proxy in front of the emulator that forwards every request until
CloudFormation's ExecuteChangeSet has gone through, then drops (or holds) every later one."""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
from typing import Iterator
from urllib.parse import urlsplit

from tests.local_http import POLL_SECONDS


class SilentEndpoint:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung service, a black hole
    behind a load balancer)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self.accepted += 1
            self._held.append(connection)  # read nothing, answer nothing

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._held:
            connection.close()
        self._socket.close()


_HOP_BY_HOP = ("transfer-encoding", "connection", "content-length", "server", "date")


def _relay(handler: http.server.BaseHTTPRequestHandler, status: int,
           headers: list[tuple[str, str]], data: bytes) -> None:
    """Send an upstream reply on, without the headers that belonged to its own connection."""
    handler.send_response(status)
    for key, value in headers:
        if key.lower() not in _HOP_BY_HOP:
            handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class _Proxy:
    """A proxy in front of `upstream` (the emulator), served on 127.0.0.1 in a thread; the
    subclass gives its request handler's do_POST."""

    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)

    def _serve(self, do_post) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            do_POST = do_GET = do_post

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": POLL_SECONDS}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class CutOffProxy(_Proxy):
    """Forwards requests to `upstream` (the emulator) until an ExecuteChangeSet request has been
    forwarded and answered; after that, `mode` "drop" closes each new request's connection
    without a reply, and "hold" keeps it open, unanswered, until the proxy is closed."""

    def __init__(self, upstream: str, mode: str = "drop"):
        assert mode in ("drop", "hold")
        super().__init__(upstream)
        self.mode = mode
        self.executed = threading.Event()
        self.released = threading.Event()
        self.refused = 0
        proxy = self

        def do_post(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if proxy.executed.is_set():
                proxy.refused += 1
                if proxy.mode == "hold":
                    proxy.released.wait(120)
                self.close_connection = True
                return
            status, headers, data = forward(proxy.upstream, self.command, self.path,
                                            dict(self.headers), body)
            _relay(self, status, headers, data)
            if b"Action=ExecuteChangeSet" in body and status == 200:
                proxy.executed.set()

        self._serve(do_post)

    def close(self) -> None:
        self.released.set()
        super().close()


def closing(endpoint) -> Iterator:
    """Yield `endpoint`, then close it (for fixtures)."""
    try:
        yield endpoint
    finally:
        endpoint.close()


class ActionProxy(_Proxy):
    """Forwards every request to `upstream` (the emulator), except those of the actions in
    `answers` (name -> (status, body)): each gets that reply instead, as an endpoint without the
    action gives (moto answers an action it lacks with a 500 and an HTML page)."""

    def __init__(self, upstream: str, answers: dict[str, tuple[int, bytes]]):
        super().__init__(upstream)
        self.answers = answers
        self.answered: list[str] = []
        proxy = self

        def do_post(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = _action(body, self.headers.get("X-Amz-Target", ""))
            if action in proxy.answers:
                proxy.answered.append(action)
                status, data = proxy.answers[action]
                _relay(self, status, [], data)
            else:
                _relay(self, *forward(proxy.upstream, self.command, self.path,
                                      dict(self.headers), body))

        self._serve(do_post)


def forward(upstream, method: str, path: str, headers: dict, body: bytes
            ) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send one request on to `upstream` (urlsplit of its URL); its status, headers and body."""
    connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


# What moto answers an action it has not implemented (measured: a 500 with Werkzeug's page).
NOT_IMPLEMENTED = (500, b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error"
                        b"</title>\n<h1>Internal Server Error</h1>\n")


def _action(body: bytes, target: str) -> str:
    """The action of a request: the query protocol's Action=..., or X-Amz-Target's last part
    (the JSON protocol)."""
    import re

    found = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body)
    if found:
        return found.group(1).decode()
    return target.rsplit(".", 1)[-1] if target else ""
