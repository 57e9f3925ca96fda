"""The benchmark's SMTP sink: `python -m bench.sink --port P --out FILE`.

Accepts every message and appends one line per message to FILE: the wall-clock arrival time and
the envelope recipients, tab-separated. The benchmark matches those addresses to the sign
requests it made. Runs until SIGTERM or SIGINT.

A small asyncio SMTP server of its own rather than aiosmtpd: the sink shares the two cores with
what is measured, and aiosmtpd's full parsing of every session cost it about 1.4 ms of CPU per
message (a seventh of a core at 100 mails/s), where a production mail relay runs elsewhere. It
speaks what the platform's senders use (EHLO, PIPELINING, SMTPUTF8, MAIL, RCPT, DATA, RSET, NOOP,
QUIT) and accepts every message.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Callable
from typing import IO

_END_OF_DATA = b"\r\n.\r\n"


class SinkSession(asyncio.Protocol):
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.buffer = b""
        self.in_data = False
        self.recipients: list[str] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                # The message began right after DATA's line: a "." alone ends even an empty one.
                end = (b"\r\n" + self.buffer).find(_END_OF_DATA)
                if end < 0:
                    break
                self.buffer = self.buffer[end + 3 :]  # end - 2 in the buffer, then 5 bytes
                self._record()
                self.in_data = False
                replies.append(b"250 OK")
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                break
            self.buffer = rest
            reply = self._command(line)
            if reply is None:  # QUIT
                replies.append(b"221 Bye")
                break
            replies.append(reply)
        if replies and self.transport is not None:
            self.transport.write(b"\r\n".join(replies) + b"\r\n")
            if replies[-1] == b"221 Bye":
                self.transport.close()

    def _command(self, line: bytes) -> bytes | None:
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8"
        if verb == b"HELO":
            return b"250 bench-sink"
        if verb == b"MAIL":
            self.recipients = []
            return b"250 OK"
        if verb == b"RCPT":
            address = line.partition(b":")[2].split(b">")[0].strip(b" <")
            self.recipients.append(address.decode("utf-8", "replace"))
            return b"250 OK"
        if verb == b"DATA":
            if not self.recipients:
                return b"503 RCPT first"
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>"
        if verb in (b"RSET", b"NOOP"):
            self.recipients = [] if verb == b"RSET" else self.recipients
            return b"250 OK"
        if verb == b"QUIT":
            return None
        return b"502 Command not implemented"

    def _record(self) -> None:
        self.out.write(f"{time.time():.6f}\t{','.join(self.recipients)}\n")
        self.out.flush()
        self.recipients = []


async def serve(
    host: str, port: int, out: IO[str], session: Callable[[], asyncio.Protocol] | None = None
) -> None:
    """Accept SMTP sessions (a SinkSession each, unless `session` makes another kind) until a
    signal says stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(session or (lambda: SinkSession(out)), host, port)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.out, "a", encoding="utf-8") as out:
        asyncio.run(serve(args.host, args.port, out))


if __name__ == "__main__":
    main()
