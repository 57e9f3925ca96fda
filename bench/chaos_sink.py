"""The chaos suite's SMTP sink: `python -m bench.chaos_sink --port P --out FILE --links FILE`.

bench/sink.py, plus one thing a signer needs: the confirmation link of each message. It appends
`arrival<TAB>To` to `--out` exactly as bench/sink.py does (so bench.maillog reads it), and for a
message that carries a confirmation link `address<TAB>/lang/confirm/<token>` to `--links`: the
chaos suite confirms signatures by following the link in the mail, as a signer does.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
from typing import IO

from bench.sink import SinkSession, serve

_CONFIRM_PATH = re.compile(r"https?://[^/\s]+(/[a-z]{2}/confirm/[A-Za-z0-9_.\-]+)")
_DATA_LINE = re.compile(rb"(?im)^data\r\n")


class LinkSession(SinkSession):
    """Keeps the bytes that arrived since the last message, to read the link of the next one.

    The parent consumes its buffer from the front only, so whatever of `raw` is no longer in the
    buffer when a message ends is that message's commands and text."""

    def __init__(self, out: IO[str], links: IO[str]) -> None:
        super().__init__(out)
        self.links = links
        self.raw = b""

    def data_received(self, data: bytes) -> None:
        self.raw += data
        super().data_received(data)
        if not self.in_data and not self.buffer:
            self.raw = b""  # between messages: nothing to keep

    def _record(self) -> None:
        recipients = list(self.recipients)
        consumed = self.raw[: len(self.raw) - len(self.buffer)]
        self.raw = self.raw[len(consumed) :]
        super()._record()
        if len(recipients) != 1:
            return
        start = _DATA_LINE.search(consumed)  # the command, before the message's own lines
        link = confirm_link(consumed[start.end() :] if start else consumed)
        if link:
            self.links.write(f"{recipients[0]}\t{link}\n")
            self.links.flush()


def confirm_link(message: bytes) -> str | None:
    """The path of the confirmation link in the text part of `message`, if it has one."""
    if b"confirm" not in message:  # a mailing's message: nothing to parse
        return None
    unstuffed = message.replace(b"\r\n..", b"\r\n.")
    parsed = email.message_from_bytes(unstuffed, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    if body is None:
        return None
    match = _CONFIRM_PATH.search(body.get_content())
    return match.group(1) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--links", required=True)
    args = parser.parse_args()
    with (
        open(args.out, "a", encoding="utf-8") as out,
        open(args.links, "a", encoding="utf-8") as links,
    ):
        asyncio.run(serve(args.host, args.port, out, lambda: LinkSession(out, links)))


if __name__ == "__main__":
    main()
