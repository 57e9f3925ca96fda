"""The SMTP sink's mail log, read as it grows: which address got its confirmation mail, and when.

bench/sink.py appends one `arrival<TAB>To` line per message it accepts; `bench.run` matches them
to the signatures it posted by address.
"""

from __future__ import annotations

import time
from email.utils import parseaddr
from pathlib import Path


class MailLog:
    """Reads the sink's `arrival<TAB>To` lines as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0
        self.arrivals: dict[str, float] = {}
        self.duplicates = 0

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return self.count
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            arrived, _, to = line.partition("\t")
            address = parseaddr(to)[1].lower()
            self.count += 1
            if address in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[address] = float(arrived)
        return self.count

    def wait_quiet(self, quiet_for: float, timeout: float) -> None:
        """Wait until no mail has arrived for `quiet_for` seconds (the worker is idle)."""
        deadline = time.monotonic() + timeout
        last_count, last_change = self.poll(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if self.poll() != last_count:
                last_count, last_change = self.count, time.monotonic()
            elif time.monotonic() - last_change >= quiet_for:
                return

    def wait_for(self, addresses: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(a in self.arrivals for a in addresses):
                return
            time.sleep(0.2)
