"""Small but real POP3 (RFC 1939) and IMAP4rev1 (RFC 3501) servers for the bounce mailbox
reader: plain TCP on a free port, one mailbox, the commands the standard library's poplib and
imaplib clients send. Like real servers, POP3 deletes only at QUIT and IMAP only on EXPUNGE."""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field

USER, PASSWORD = "bounces", "s3cret"


@dataclass
class StoredMessage:
    uid: int
    data: bytes
    deleted: bool = False


@dataclass
class Mailbox:
    messages: list[StoredMessage] = field(default_factory=list)
    next_uid: int = 1
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes) -> None:
        with self.lock:
            self.messages.append(StoredMessage(self.next_uid, data.replace(b"\r\n", b"\n")))
            self.next_uid += 1

    def contents(self) -> list[bytes]:
        return [m.data for m in self.messages]

    def expunge(self) -> list[int]:
        """Remove deleted messages; their 1-based sequence numbers as IMAP reports them."""
        with self.lock:
            gone, number = [], 0
            for message in list(self.messages):
                number += 1
                if message.deleted:
                    self.messages.remove(message)
                    gone.append(number)
                    number -= 1
            return gone


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type, mailbox: Mailbox) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.mailbox = mailbox


class _Running:
    scheme = ""

    def __init__(self, handler: type) -> None:
        self.mailbox = Mailbox()
        self._server = _Server(handler, self.mailbox)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, password: str = PASSWORD, folder: str = "") -> str:
        return f"{self.scheme}://{USER}:{password}@127.0.0.1:{self.port}{folder}"


# --- POP3 ----------------------------------------------------------------------------------------


class _Pop3Handler(socketserver.StreamRequestHandler):
    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        mailbox: Mailbox = self.server.mailbox
        self.send("+OK test POP3 server ready")
        user, authorised = None, False
        while line := self.rfile.readline():
            command, _, argument = line.decode().strip().partition(" ")
            command = command.upper()
            live = [m for m in mailbox.messages if not m.deleted]
            if command == "QUIT":
                if authorised:
                    with mailbox.lock:
                        mailbox.messages[:] = [m for m in mailbox.messages if not m.deleted]
                self.send("+OK bye")
                return
            if command == "USER":
                user = argument
                self.send("+OK")
            elif command == "PASS":
                authorised = user == USER and argument == PASSWORD
                if authorised:
                    mailbox.logins += 1
                self.send("+OK logged in" if authorised else "-ERR invalid login")
            elif not authorised:
                self.send("-ERR log in first")
            elif command == "STAT":
                self.send(f"+OK {len(live)} {sum(len(m.data) for m in live)}")
            elif command == "LIST":
                self.send(f"+OK {len(live)} messages")
                for number, message in enumerate(mailbox.messages, start=1):
                    if not message.deleted:
                        self.send(f"{number} {len(_crlf(message.data))}")
                self.send(".")
            elif command in ("RETR", "DELE"):
                message = self._message(argument)
                if message is None:
                    self.send("-ERR no such message")
                elif command == "DELE":
                    message.deleted = True
                    self.send("+OK deleted")
                else:
                    self.send("+OK message follows")
                    for text in message.data.split(b"\n"):
                        # Byte-stuffing: a line starting with a dot gets another one.
                        self.wfile.write((b"." if text.startswith(b".") else b"") + text + b"\r\n")
                    self.send(".")
            elif command == "NOOP":
                self.send("+OK")
            elif command == "RSET":
                for message in mailbox.messages:
                    message.deleted = False
                self.send("+OK")
            else:
                self.send("-ERR unknown command")

    def _message(self, argument: str) -> StoredMessage | None:
        messages = self.server.mailbox.messages
        if argument.isdigit() and 1 <= int(argument) <= len(messages):
            message = messages[int(argument) - 1]
            return None if message.deleted else message
        return None


class Pop3Server(_Running):
    scheme = "pop3"

    def __init__(self) -> None:
        super().__init__(_Pop3Handler)


# --- IMAP ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def _tokens(text: str) -> list[str]:
    return [bare or re.sub(r"\\(.)", r"\1", quoted) for quoted, bare in _TOKEN.findall(text)]


class _ImapHandler(socketserver.StreamRequestHandler):
    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        mailbox: Mailbox = self.server.mailbox
        self.send("* OK test IMAP4rev1 server ready")
        authorised = selected = False
        while line := self.rfile.readline():
            words = _tokens(line.decode().strip())
            if len(words) < 2:
                self.send("* BAD a tag and a command, please")
                continue
            tag, command, args = words[0], words[1].upper(), words[2:]
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGIN":
                authorised = args[:2] == [USER, PASSWORD]
                if authorised:
                    mailbox.logins += 1
                self.send(f"{tag} OK LOGIN completed" if authorised else f"{tag} NO invalid login")
            elif not authorised:
                self.send(f"{tag} BAD log in first")
            elif command == "SELECT":
                if not args or args[0].upper() != "INBOX":
                    self.send(f"{tag} NO no such folder")
                    continue
                selected = True
                self.send(f"* {len(mailbox.messages)} EXISTS")
                self.send("* 0 RECENT")
                self.send(r"* FLAGS (\Deleted \Seen)")
                self.send(f"* OK [UIDNEXT {mailbox.next_uid}] predicted")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
            elif not selected:
                self.send(f"{tag} BAD select a folder first")
            elif command == "UID" and args:
                self._uid(tag, args[0].upper(), args[1:])
            elif command in ("EXPUNGE", "CLOSE"):
                for number in mailbox.expunge():
                    if command == "EXPUNGE":
                        self.send(f"* {number} EXPUNGE")
                self.send(f"{tag} OK {command} completed")
            else:
                self.send(f"{tag} BAD unknown command")

    def _uid(self, tag: str, command: str, args: list[str]) -> None:
        messages = self.server.mailbox.messages
        if command == "SEARCH":
            undeleted = [str(m.uid) for m in messages if not m.deleted]
            every = [str(m.uid) for m in messages]
            found = undeleted if "UNDELETED" in (a.upper() for a in args) else every
            self.send("* SEARCH " + " ".join(found) if found else "* SEARCH")
            self.send(f"{tag} OK SEARCH completed")
            return
        by_uid = {str(m.uid): (n, m) for n, m in enumerate(messages, start=1)}
        if command not in ("FETCH", "STORE") or not args or args[0] not in by_uid:
            self.send(f"{tag} OK nothing done")  # a UID set that matches nothing is no error
            return
        number, message = by_uid[args[0]]
        if command == "FETCH":
            data = _crlf(message.data)
            self.wfile.write(
                f"* {number} FETCH (UID {message.uid} BODY[] {{{len(data)}}}\r\n".encode()
            )
            self.wfile.write(data + b")\r\n")
        else:
            message.deleted = True
            if ".SILENT" not in args[1].upper():
                self.send(f"* {number} FETCH (UID {message.uid} FLAGS (\\Deleted))")
        self.send(f"{tag} OK {command} completed")


class ImapServer(_Running):
    scheme = "imap"

    def __init__(self) -> None:
        super().__init__(_ImapHandler)
