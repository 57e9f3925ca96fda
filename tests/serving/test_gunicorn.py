"""Load shedding under a real gunicorn started as the README deploys it (`-c
python:campaigns.serving.gunicorn_conf`), with one worker of one thread so that one slow request
saturates it.

The slow request is a visitor whose request line arrives but whose headers never end: the only
thread waits for them, and every request behind it waits in the worker's queue, as under a surge.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from campaigns.devstack.mailcatcher.server import free_port
from tests.support import process_env, wait_until

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
PETITION = "/de/c/naloxone-in-every-pocket"
BOUND_MS = 500  # the default


class Gunicorn:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port, self.process, self.log = port, process, log

    def send(self, raw: bytes) -> socket.socket:
        """Send a request now; read its answer later with `answer`."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(raw)
        return sock

    def get(self, path: str, headers: str = "") -> socket.socket:
        return self.send(
            f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode()
        )


def answer(sock: socket.socket) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of the answer on `sock`, which the server closes after it."""
    data = b""
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body.decode()


@pytest.fixture
def gunicorn(app, demo, tmp_path) -> Iterator[Gunicorn]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = process_env(dict(app.config), SHED_AFTER_MS=str(BOUND_MS))
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "-c", "python:campaigns.serving.gunicorn_conf",
                "--workers", "1", "--threads", "1",
                "--bind", f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Gunicorn(port, process, log)
    try:
        wait_until(lambda: _answers(server), timeout=60)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(server: Gunicorn) -> bool:
    assert server.process.poll() is None, server.log.read_text()
    with contextlib.suppress(OSError):
        return answer(server.get("/healthz"))[0] == 200
    return False


def hold_the_only_thread(server: Gunicorn) -> socket.socket:
    slow = server.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers not finished
    time.sleep(0.2)  # the thread has taken it up
    return slow


def test_a_saturated_worker_refuses_fast_what_waited_too_long(gunicorn):
    slow = hold_the_only_thread(gunicorn)
    fields = {"csrf_token": "t0ken", "name": "<i>Jo</i>", "email": "jo@example.org"}
    body = urlencode(fields).encode()
    post = gunicorn.send(
        f"POST {PETITION} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    page = gunicorn.get(PETITION)
    probe = gunicorn.get("/healthz")
    time.sleep(BOUND_MS / 1000 + 0.3)  # all three have now waited longer than the bound

    released = time.perf_counter()
    slow.sendall(b"Connection: close\r\n\r\n")
    assert answer(slow)[0] == 200  # it was being served: served whole
    status, headers, html = answer(post)
    assert time.perf_counter() - released < 1.0  # milliseconds on a quiet machine
    assert status == 503
    assert headers["retry-after"] == "5"
    assert headers["content-language"] == "de"
    assert '<input type="hidden" name="name" value="&lt;i&gt;Jo&lt;/i&gt;">' in html
    assert '<input type="hidden" name="csrf_token" value="t0ken">' in html
    assert f'<form method="post" action="{PETITION}">' in html

    assert answer(page)[0] == 503
    assert answer(probe)[0] == 200  # probes are never refused
    wait_until(lambda: "overloaded: refused 1 request" in gunicorn.log.read_text(), timeout=10)

    # The surge is over: the next visitor is served at once.
    started = time.perf_counter()
    assert answer(gunicorn.get(PETITION))[0] == 200
    assert time.perf_counter() - started < 1.0


def test_a_request_that_waited_less_than_the_bound_is_served(gunicorn):
    slow = hold_the_only_thread(gunicorn)
    waiting = gunicorn.get(PETITION)
    slow.sendall(b"Connection: close\r\n\r\n")  # about 0 ms past taking it up: well within
    assert answer(slow)[0] == 200
    status, _headers, html = answer(waiting)
    assert status == 200
    assert 'name="csrf_token"' in html
