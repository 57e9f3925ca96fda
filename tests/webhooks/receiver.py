"""A real HTTP receiver on loopback for the webhook tests: it records every request (headers,
body, arrival time) and answers as each test scripts it, per path: a status sequence, a delay
before answering, a body, or a stall that lasts until the test lets it go."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float  # time.time() when the body was read


@dataclass
class Script:
    statuses: list[int] = field(default_factory=lambda: [200])  # the last one repeats
    delay: float = 0.0  # seconds before answering
    body: bytes = b"ok"
    stall: threading.Event | None = None  # answer only once it is set
    stream_forever: bool = False  # an endless body, a chunk every few milliseconds
    trickle_headers: float = 0.0  # seconds between header bytes


class Receiver:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.requests: list[Received] = []
        self.scripts: dict[str, Script] = {}
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                script = receiver.scripts.get(self.path.split("?")[0], Script())
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.time())
                    )
                    status = (
                        script.statuses.pop(0) if len(script.statuses) > 1 else script.statuses[0]
                    )
                    receiver.arrived.notify_all()
                with contextlib.suppress(OSError):  # the sender gave up, as it should
                    self._answer(script, status)

            def _answer(self, script: Script, status: int) -> None:
                if script.stall is not None:
                    script.stall.wait(120)
                if script.delay:
                    time.sleep(script.delay)
                if script.trickle_headers:
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(script.trickle_headers)
                    return
                self.send_response(status)
                if script.stream_forever:
                    self.send_header("Content-Length", str(10**9))
                    self.end_headers()
                    while True:
                        self.wfile.write(b"x" * 1024)
                        self.wfile.flush()
                        time.sleep(0.005)
                self.send_header("Content-Length", str(len(script.body)))
                self.end_headers()
                self.wfile.write(script.body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # (certificate file, key file)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, **settings: object) -> Script:
        self.scripts[path] = Script(**settings)
        return self.scripts[path]

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def wait_for(
        self, count: int, path: str | None = None, timeout: float = 20.0
    ) -> list[Received]:
        def enough() -> bool:
            return len(self.to(path) if path else self.requests) >= count

        with self.arrived:
            if not self.arrived.wait_for(enough, timeout=timeout):
                raise AssertionError(f"{count} request(s) expected, got {len(self.requests)}")
        return self.to(path) if path else list(self.requests)

    def stop(self) -> None:
        for script in self.scripts.values():
            if script.stall is not None:
                script.stall.set()
        self.server.shutdown()
        self.server.server_close()
