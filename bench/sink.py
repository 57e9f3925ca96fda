"""The benchmark's SMTP sink: `python -m bench.sink --port P --out FILE`.

Accepts every message and appends one line per message to FILE: the wall-clock arrival time and
the `To` header, tab-separated. The benchmark matches those addresses to the sign requests it
made. Runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import IO

from aiosmtpd.controller import Controller

_parser = BytesHeaderParser(policy=compat32)


class RecordingHandler:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.count = 0

    async def handle_EHLO(self, _server, session, _envelope, hostname, responses) -> list[str]:  # noqa: ANN001
        # Offer PIPELINING (RFC 2920) as the MTAs the platform sends to in production do.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: ANN001
        arrived = time.time()
        raw = envelope.original_content or envelope.content or b""
        head = raw.split(b"\r\n\r\n", 1)[0]
        to = " ".join(str(_parser.parsebytes(head).get("To", "")).split())
        self.out.write(f"{arrived:.6f}\t{to}\n")
        self.out.flush()
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())

    with open(args.out, "a", encoding="utf-8") as out:
        controller = Controller(RecordingHandler(out), hostname=args.host, port=args.port)
        controller.start()
        try:
            stop.wait()
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
