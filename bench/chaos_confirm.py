"""Signers who confirm: follow the link of each confirmation mail as it arrives at the sink.

A thread reads the links bench/chaos_sink.py writes and, for each, does what a signer does with
a fresh browser: GET the link (a page with a button), then POST its form. A confirmation that
meets a fault (no answer, or a 5xx) is tried again a little later, as a person would press the
button again; the link itself stays valid.
"""

from __future__ import annotations

import http.client
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.procs import HOST

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ATTEMPTS = 8
RETRY_AFTER_S = 2.0


@dataclass
class Confirmations:
    confirmed: dict[str, float] = field(default_factory=dict)  # address -> when (wall clock)
    failed: dict[str, str] = field(default_factory=dict)  # address -> the last problem
    retried: int = 0  # confirmations that needed more than one try


def _confirm_once(port: int, path: str) -> str:
    """One try: '' when confirmed (303), else what went wrong."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Language": "en"})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        cookie = "; ".join(
            v.split(";", 1)[0] for k, v in resp.getheaders() if k.lower() == "set-cookie"
        )
        match = _CSRF_RE.search(body)
        if resp.status != 200 or match is None:
            return f"GET {resp.status}"
        conn.close()
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        conn.request(
            "POST",
            path,
            body=f"csrf_token={quote(match.group(1))}",
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept-Language": "en",
            },
        )
        resp = conn.getresponse()
        resp.read()
        return "" if resp.status == 303 else f"POST {resp.status}"
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        conn.close()


class Confirmer:
    """Confirms every link that appears in `links_log`, with `threads` signers at a time."""

    def __init__(self, port: int, links_log: Path, threads: int = 2) -> None:
        self.port = port
        self.links_log = links_log
        self.result = Confirmations()
        self.seen = 0  # links read
        self.done = 0  # links confirmed or given up on
        self._lock = threading.Lock()
        self._todo: queue.Queue[tuple[str, str, int]] = queue.Queue()
        self._stop = threading.Event()
        self._offset = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"confirm-{n}", daemon=True)
            for n in range(threads)
        ]
        self._reader = threading.Thread(target=self._read, name="links", daemon=True)

    def start(self) -> None:
        self._reader.start()
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def _poll(self) -> None:
        with open(self.links_log, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode().splitlines():
            address, _, path = line.partition("\t")
            self.seen += 1
            self._todo.put((address.lower(), path, 1))

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                address, path, attempt = self._todo.get(timeout=0.2)
            except queue.Empty:
                continue
            problem = _confirm_once(self.port, path)
            if problem and attempt < ATTEMPTS:
                retry = (address, path, attempt + 1)
                threading.Timer(RETRY_AFTER_S * attempt, self._todo.put, (retry,)).start()
                continue
            with self._lock:
                if problem:
                    self.result.failed[address] = problem
                else:
                    self.result.confirmed[address] = time.time()
                    self.result.retried += attempt > 1
                self.done += 1

    def wait(self, timeout: float) -> None:
        """Wait until every link read so far has been confirmed or given up on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.done >= self.seen:
                return
            time.sleep(0.5)

    def stop(self) -> None:
        self._stop.set()
        for thread in [self._reader, *self._threads]:
            thread.join(timeout=15)
