"""The webhook benchmark's receivers: real HTTP servers on loopback, in the benchmark process,
one answering at once and one after a delay (the slow member network's server).

Each request is logged with its arrival time (time.time(), when the body has been read), the time
it was answered, its `webhook-id` and the network (the URL's path is `/<network slug>`), and its
signature is checked with the `standardwebhooks` library, as a network's own receiver would; a
failed check is counted, never answered differently (the sender must not retry because of us).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.procs import HOST


@dataclass(frozen=True)
class Received:
    kind: str  # "fast" or "slow"
    network: str  # the network's slug, from the path
    webhook_id: str
    arrived: float  # time.time() once the body was read
    answered: float  # time.time() once the answer was written (nan if the sender hung up)
    verified: bool


class _Server(ThreadingHTTPServer):
    # A burst of 32 connections at once must not overflow the listen backlog (the default, 5,
    # would drop SYNs, and the kernel's retransmission a second later would show as latency).
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True


class Receiver:
    """One HTTP server; `delay` seconds before each answer (0: at once), changeable between
    phases. `secrets` maps a network's slug to this receiver's endpoint secret of it."""

    def __init__(self, kind: str, secrets: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.delay = 0.0
        self.secrets: dict[str, str] = secrets or {}
        self.log: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                arrived = time.time()
                receiver._enter()
                try:
                    delay = receiver.delay
                    if delay:
                        time.sleep(delay)
                    answered = float("nan")
                    with contextlib.suppress(OSError):  # the sender gave up (its timeout)
                        self.send_response(200)
                        self.send_header("Content-Length", "2")
                        self.end_headers()
                        self.wfile.write(b"ok")
                        self.wfile.flush()
                        answered = time.time()
                finally:
                    receiver._leave()
                receiver._record(self.path, dict(self.headers.items()), body, arrived, answered)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = _Server((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"receiver-{kind}", daemon=True
        )
        self._thread.start()

    def url(self, network_slug: str) -> str:
        return f"http://{HOST}:{self.port}/{network_slug}"

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(
        self, path: str, headers: dict[str, str], body: bytes, arrived: float, answered: float
    ) -> None:
        slug = path.strip("/").split("?", 1)[0]
        secret = self.secrets.get(slug)
        verified = False
        if secret is not None:
            try:
                Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        webhook_id = next((v for k, v in headers.items() if k.lower() == "webhook-id"), "")
        with self._lock:
            self.log.append(Received(self.kind, slug, webhook_id, arrived, answered, verified))

    def reset_gauge(self) -> None:
        """Start counting the most requests in flight at once afresh (for a new phase)."""
        with self._lock:
            self.max_in_flight = self.in_flight

    def count(self) -> int:
        with self._lock:
            return len(self.log)

    def stop(self) -> None:
        self.delay = 0.0
        self.server.shutdown()
        self.server.server_close()
