"""Posting a webhook without letting a URL reach inside our own network (SSRF).

A URL is checked twice: when staff save it (`check_url`, for a clear message on the form) and
again at every send (`post`), because what a name resolves to can change after the check (DNS
rebinding). At send time every address the name resolves to is checked, and the connection goes
to the checked address itself, with the name only in the TLS handshake (SNI, certificate check)
and the Host header, so no second lookup can swap in a private address. Redirects are not
followed (a redirect could point anywhere). The whole request, from the lookup to the last byte
read, is bounded by WEBHOOK_TIMEOUT: a watchdog shuts the socket down at the deadline, so a
receiver that trickles its answer a byte at a time cannot hold a sending thread, and at most
WEBHOOK_MAX_RESPONSE_BYTES of its answer are read.

`post` runs in the sending threads: no database, no Flask, and it never raises for what the
network or the receiver did: it returns a `Result` for the delivery log.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app
from flask_babel import gettext as _
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error

MAX_URL_LENGTH = 500  # WebhookEndpoint.url
DETAIL_LENGTH = 300
_CHUNK = 4096
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# What stays as typed in a path or query: RFC 3986's reserved characters, and "%" (an escape
# already there); everything else that is not plain ASCII goes percent-encoded as UTF-8.
_KEEP_IN_PATH = "!$&'()*+,;=:@/?[]%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class Refused(Exception):
    """The URL may not be posted to. `code` says why (see `check_url` for the messages)."""

    def __init__(self, code: str, detail: str, **values: str) -> None:
        super().__init__(detail)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Limits:
    """The settings a send obeys, read from the app config in the main thread."""

    allow_http: bool = False
    allow_private: bool = False
    connect_timeout: float = 5.0
    timeout: float = 15.0
    max_response_bytes: int = 4096
    ca_certs: str | None = None  # a CA bundle instead of the system's (tests, private CAs)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            allow_http=bool(config["WEBHOOK_ALLOW_HTTP"]),
            allow_private=bool(config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"]),
            connect_timeout=float(config["WEBHOOK_CONNECT_TIMEOUT"]),
            timeout=float(config["WEBHOOK_TIMEOUT"]),
            max_response_bytes=int(config["WEBHOOK_MAX_RESPONSE_BYTES"]),
            ca_certs=config.get("WEBHOOK_CA_CERTS") or None,
        )


@dataclass(frozen=True)
class Result:
    """What one attempt got: the HTTP status (None: no answer), its latency, and a short text
    (what went wrong, or the start of the answer's body)."""

    status: int | None
    latency_ms: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as the certificate names it: lowercased, IDNA
    port: int
    path: str  # with the query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


# -- checking -----------------------------------------------------------------------------------


def forbidden_address(address: str) -> bool:
    """Whether an address is anything but a public unicast one: loopback, private, link-local
    (169.254.169.254, the cloud metadata service, among them), shared (100.64/10), multicast,
    reserved, unspecified, IPv6 site-local (fec0::/10, deprecated but still routed inside some
    networks), or an IPv6 address that carries one of those (IPv4-mapped, 6to4, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip.teredo:
            embedded = ip.teredo[1]
        if any(ip in network for network in _NAT64):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and forbidden_address(str(embedded)):
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE)
        # Python counts fec0::/10 as global.
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def parse(url: str, limits: Limits) -> Target:
    """The URL's parts, or Refused if it is not one we may post to (before any lookup)."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused("too_long", "the address is too long")
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise Refused("malformed", "not a web address")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port out of range, a broken IPv6 address
        raise Refused("malformed", "not a web address") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("malformed", "not an http(s) address")
    if scheme == "http" and not limits.allow_http:
        raise Refused("http", "only https addresses are allowed")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("credentials", "the address carries a user name or password")
    if not host:
        raise Refused("host", "the address has no host name")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise Refused("host", "the host name is not valid") from None
    if port == 0:
        raise Refused("malformed", "port 0")
    path = _encoded(parts.path or "/") + (f"?{_encoded(parts.query)}" if parts.query else "")
    return Target(scheme, host.rstrip("."), port or (443 if scheme == "https" else 80), path)


def _encoded(text: str) -> str:
    """A path or query as it goes on the request line: a non-ASCII character (/hooks/é) as its
    UTF-8 escapes (/hooks/%C3%A9), as a browser sends it, since the request line must be ASCII.
    Escapes already there and reserved characters are kept, so nothing changes meaning; a "%"
    that starts no escape becomes "%25"."""
    return quote(_STRAY_PERCENT.sub("%25", text), safe=_KEEP_IN_PATH)


def resolve(target: Target, limits: Limits) -> list[str]:
    """Every address the host resolves to, each one checked; Refused if any is not public."""
    try:
        infos = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):  # socket.gaierror is an OSError
        raise Refused(
            "unresolvable", f"{target.host} could not be resolved", host=target.host
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused("unresolvable", f"{target.host} could not be resolved", host=target.host)
    if not limits.allow_private:
        for address in addresses:
            if forbidden_address(address):
                # The address goes to the delivery log only, never to the form.
                raise Refused(
                    "private", f"{target.host} resolves to {address}, which is not a public address"
                )
    return addresses


def check_url(url: str) -> str | None:
    """Why the endpoint form refuses `url` (a message for the person who typed it), or None."""
    limits = Limits.from_config(current_app.config)
    try:
        resolve(parse(url, limits), limits)
    except Refused as refused:
        return _refusal_message(refused)
    return None


def _refusal_message(refused: Refused) -> str:
    messages = {
        "too_long": _("Please use at most %(max)d characters.", max=MAX_URL_LENGTH),
        "malformed": _("Please enter a web address such as https://example.org/webhooks."),
        "http": _(
            "Please enter an address that starts with https://: messages must not travel "
            "unencrypted."
        ),
        "credentials": _(
            "Please remove the user name and password from the address. Receivers check the "
            "signature of each message instead."
        ),
        "host": _("Please enter an address with a host name, such as https://example.org/hooks."),
        "unresolvable": _(
            "The host name %(host)s could not be found. Please check the address.",
            host=refused.values.get("host", ""),
        ),
        # Without the address it resolved to: that would map our internal network for
        # whoever types names into the form.
        "private": _(
            "This address leads to a private or internal network, which webhooks may not "
            "reach. Please use an address on the public internet."
        ),
    }
    return messages[refused.code]


# -- sending ------------------------------------------------------------------------------------


class _Watchdog:
    """Shuts a connection's socket down at the deadline, which ends any read or write blocked on
    it, however slowly the other side trickles bytes."""

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also for a TLS socket: its own would tear the TLS
                # state down under the thread that is reading.
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def post(url: str, body: bytes, headers: Mapping[str, str], limits: Limits) -> Result:
    """POST `body` to `url` with `headers`, within the limits. Never raises for a network error
    or a refused address: the `Result` says what happened."""
    started = time.monotonic()
    deadline = started + limits.timeout
    status, detail = None, ""
    try:
        target = parse(url, limits)
        addresses = resolve(target, limits)
        status, detail = _exchange(target, addresses, body, headers, limits, deadline)
    except Refused as refused:
        detail = f"refused: {refused}"
    except (OSError, Urllib3Error, http.client.HTTPException, ValueError) as exc:
        detail = (
            f"timed out: no complete answer within {limits.timeout:g} s"
            if time.monotonic() >= deadline
            else _describe(exc)
        )
    latency = round((time.monotonic() - started) * 1000)
    return Result(status, latency, _clean(detail))


def _exchange(
    target: Target,
    addresses: list[str],
    body: bytes,
    headers: Mapping[str, str],
    limits: Limits,
    deadline: float,
) -> tuple[int, str]:
    """Connect to the first address that answers, post, and read the start of the answer."""
    watchdog = _Watchdog(deadline)
    connection = None
    try:
        for position, address in enumerate(addresses):
            connection = _connection(target, address, limits)
            try:
                connection.connect()
                break
            except (OSError, Urllib3Error):
                connection.close()
                if position == len(addresses) - 1 or time.monotonic() >= deadline:
                    raise
        assert connection is not None
        watchdog.watch(connection.sock)
        if watchdog.fired:
            raise TimeoutError("deadline passed while connecting")
        connection.timeout = max(deadline - time.monotonic(), 0.001)
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": target.host_header,
                "Content-Length": str(len(body)),
                "Connection": "close",
            },
            preload_content=False,
            decode_content=False,
        )
        response = connection.getresponse()
        answer = b""
        with contextlib.suppress(OSError, Urllib3Error, http.client.HTTPException):
            # The status is what counts; a body cut short at the deadline changes nothing.
            answer = _read_capped(response, limits.max_response_bytes)
        detail = answer.decode("utf-8", "replace")
        if 300 <= response.status < 400:
            location = response.headers.get("Location", "")
            detail = f"redirect to {location} not followed. {detail}"
        return response.status, detail
    finally:
        watchdog.cancel()
        if connection is not None:
            connection.close()


def _connection(target: Target, address: str, limits: Limits) -> HTTPConnection:
    if target.scheme == "https":
        return HTTPSConnection(
            address,
            target.port,
            timeout=limits.connect_timeout,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=limits.ca_certs,
        )
    return HTTPConnection(address, target.port, timeout=limits.connect_timeout)


def _read_capped(response: Any, cap: int) -> bytes:
    """At most `cap` bytes of the answer; the rest is never read (the connection is closed)."""
    chunks: list[bytes] = []
    left = cap
    while left > 0:
        chunk = response.read(min(left, _CHUNK), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)[:cap]


def _describe(exc: BaseException) -> str:
    """A short, stable text for the delivery log."""
    # urllib3 wraps the socket's error.
    cause = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__
    if isinstance(cause, OSError):
        exc = cause
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name


def _clean(text: str) -> str:
    """One line, no control characters, cut to DETAIL_LENGTH."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= DETAIL_LENGTH else text[: DETAIL_LENGTH - 1] + "…"
