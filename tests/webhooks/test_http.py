"""The SSRF guard and the limits of a send, against a real HTTP receiver on loopback: what the
endpoint form refuses, what is refused again at connect time (even after the form accepted
it), the deadline of the whole request, the cap on the answer read, no redirect followed, and
TLS checked against the URL's host name while connecting to the checked address."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest

from campaigns.webhooks.http import Limits, check_url, forbidden_address, post
from tests.support import need
from tests.webhooks.receiver import Receiver

LOCAL = Limits(allow_http=True, allow_private=True, timeout=5, connect_timeout=2)
PUBLIC = "93.184.215.14"  # a public address; no test connects to it


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Resolve the given names as told (in turn, for a list of lists); other hosts as usual.
    Returns the names looked up."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        addresses = answers[host]
        if addresses and isinstance(addresses[0], list):
            addresses = addresses.pop(0) if len(addresses) > 1 else addresses[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # link-local: the cloud metadata service
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "224.0.0.1",  # multicast
        "0.0.0.0",  # noqa: S104 - unspecified
        "240.0.0.1",  # reserved
        "192.0.2.10",  # documentation
        "::1",
        "fe80::1",
        "fc00::1",  # unique local
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "ff02::1",
        "fec0::1",  # IPv6 site-local (deprecated, yet Python counts it as global)
        "feff:ffff::1",
    ],
)
def test_every_non_public_address_is_forbidden(address):
    assert forbidden_address(address)


@pytest.mark.parametrize("address", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not forbidden_address(address)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.org/hooks", "https://"),
        ("https://user:pw@example.org/hooks", "user name and password"),
        ("https://127.0.0.1/hooks", "private or internal network"),
        ("https://localhost/hooks", "private or internal network"),
        ("https://169.254.169.254/latest/meta-data/", "private or internal network"),
        ("https://[::1]/hooks", "private or internal network"),
        ("https://[fec0::1]/hooks", "private or internal network"),
        ("https://[::ffff:10.0.0.1]/hooks", "private or internal network"),
        ("https://100.64.0.1/hooks", "private or internal network"),
        ("https://224.0.0.1/hooks", "private or internal network"),
        ("https://0.0.0.0/hooks", "private or internal network"),
        ("ftp://example.org/hooks", "such as https://example.org/webhooks"),
        ("https:///hooks", "host name"),
        ("https://example.org:99999/hooks", "such as https://example.org/webhooks"),
        ("https://example.org:0/hooks", "such as https://example.org/webhooks"),
        ("https://exa mple.org/", "such as https://example.org/webhooks"),
        ("https://example.org/" + "a" * 500, "at most 500 characters"),
    ],
)
def test_the_form_check_refuses_each_forbidden_kind_of_address(
    production_rules, app_ctx, url, expected
):
    problem = check_url(url)
    assert problem is not None
    assert expected in problem


def test_the_form_check_accepts_a_public_https_address(production_rules, app_ctx):
    assert check_url(f"https://{PUBLIC}/hooks/euronpud?from=campaigns") is None


def test_a_name_that_resolves_to_a_private_address_among_public_ones_is_refused(
    production_rules, app_ctx, monkeypatch
):
    fake_dns(monkeypatch, {"hooks.example.org": [PUBLIC, "10.0.0.7"], "gone.example.org": []})
    problem = check_url("https://hooks.example.org/in")
    assert "private or internal network" in problem
    # What the name resolves to inside our network is no business of whoever types it.
    assert "10.0.0.7" not in problem
    assert "could not be found" in check_url("https://gone.example.org/in")


def test_the_form_never_tells_the_internal_address_but_the_log_does(
    production_rules, app_ctx, monkeypatch
):
    fake_dns(monkeypatch, {"intranet.example.org": ["10.20.30.40"]})
    url = "https://intranet.example.org/hooks"
    assert "10.20.30.40" not in check_url(url)
    result = post(url, b"{}", {}, Limits(allow_private=False))
    assert "intranet.example.org resolves to 10.20.30.40" in result.detail


def test_production_refuses_http_and_development_allows_it(app, app_ctx, monkeypatch, receiver):
    from campaigns.config import Config, DevelopmentConfig

    assert Config.WEBHOOK_ALLOW_HTTP is False
    assert Config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES is False
    for key in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
        monkeypatch.setitem(app.config, key, getattr(Config, key))
    assert check_url(receiver.url()) is not None
    for key in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
        monkeypatch.setitem(app.config, key, getattr(DevelopmentConfig, key))
    assert check_url(receiver.url()) is None
    assert check_url(receiver.url(host="localhost")) is None


def test_localhost_is_refused_at_connect_time_even_after_the_form_accepted_it(
    local_receivers_allowed, app_ctx, receiver, monkeypatch
):
    url = receiver.url(host="localhost")
    assert check_url(url) is None  # the development settings accept it on the form

    # In production the sender looks again, and refuses: nothing reaches the receiver.
    result = post(url, b"{}", {}, Limits(allow_http=True, allow_private=False))
    assert result.status is None
    assert "refused: localhost resolves to 127.0.0.1" in result.detail
    time.sleep(0.2)
    assert receiver.requests == []


def test_dns_rebinding_to_a_private_address_is_caught_at_connect_time(
    production_rules, app_ctx, monkeypatch, receiver
):
    # Public when the form checks it; loopback (where the receiver listens) when it is sent.
    asked = fake_dns(monkeypatch, {"rebind.example.org": [[PUBLIC], ["127.0.0.1"]]})
    url = f"http://rebind.example.org:{receiver.port}/hook"
    with_http = Limits(allow_http=True, allow_private=False)
    monkeypatch.setitem(app_ctx.config, "WEBHOOK_ALLOW_HTTP", True)
    assert check_url(url) is None

    result = post(url, b"{}", {}, with_http)
    assert asked == ["rebind.example.org", "rebind.example.org"]
    assert result.status is None
    assert "127.0.0.1, which is not a public address" in result.detail
    assert receiver.requests == []


def test_a_post_reaches_the_receiver_with_our_headers_and_reads_its_answer(receiver):
    receiver.script("/hook", statuses=[202], body=b'{"thanks": true}')
    result = post(receiver.url(), b'{"a":1}', {"webhook-id": "msg_1"}, LOCAL)
    assert result.status == 202
    assert result.ok
    assert result.detail == '{"thanks": true}'
    (request,) = receiver.requests
    assert request.body == '{"a":1}'
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_non_ascii_path_and_query_go_percent_encoded(local_receivers_allowed, app_ctx, receiver):
    url = receiver.url("/hooks/é?x=ü")
    assert check_url(url) is None
    result = post(url, b"{}", {}, LOCAL)
    assert result.status == 200, result.detail
    assert receiver.requests[-1].path == "/hooks/%C3%A9?x=%C3%BC"


def test_escapes_and_reserved_characters_are_kept_as_typed(receiver):
    path = "/a%2Fb/c;v=1@x?q=a%20b&list[]=1,2&next=/d?e=$f!&pct=100%"
    result = post(receiver.url(path), b"{}", {}, LOCAL)
    assert result.status == 200, result.detail
    # Only the "%" that starts no escape changes.
    assert receiver.requests[-1].path == path[:-1] + "%25"


def test_the_whole_request_is_bounded_not_only_each_read(receiver):
    receiver.script("/stall", delay=10)
    receiver.script("/trickle", trickle_headers=0.2)  # a byte every 0.2 s: no read times out
    limits = Limits(allow_http=True, allow_private=True, timeout=1.5, connect_timeout=1)
    for path in ("/stall", "/trickle"):
        started = time.monotonic()
        result = post(receiver.url(path), b"{}", {}, limits)
        elapsed = time.monotonic() - started
        assert result.status is None, path
        assert "timed out" in result.detail, path
        assert 1.4 < elapsed < 3, (path, elapsed)
        assert 1400 <= result.latency_ms < 3000


def test_only_the_start_of_the_answer_is_read(receiver):
    receiver.script("/endless", stream_forever=True)  # a body that never ends
    limits = Limits(allow_http=True, allow_private=True, timeout=10, max_response_bytes=2048)
    started = time.monotonic()
    result = post(receiver.url("/endless"), b"{}", {}, limits)
    assert time.monotonic() - started < 2  # it stopped reading at the cap, long before 10 s
    assert result.status == 200
    assert result.detail.startswith("xxxx")
    assert len(result.detail) <= 300


def test_a_redirect_is_not_followed(receiver):
    receiver.script("/moved", statuses=[307], body=b"")
    result = post(receiver.url("/moved"), b"{}", {}, LOCAL)
    assert result.status == 307
    assert not result.ok
    assert len(receiver.requests) == 1


def test_network_errors_are_reported_not_raised():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = post(f"http://127.0.0.1:{port}/", b"{}", {}, LOCAL)
    assert result.status is None
    assert result.detail == "connection refused"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for the name "localhost" only (no IP address in it)."""
    need(shutil.which("openssl") is not None, "openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_tls_checks_the_urls_host_name_while_connecting_to_the_checked_address(certificate):
    server = Receiver(tls=certificate)
    try:
        trusting = Limits(allow_private=True, ca_certs=certificate[0], timeout=5)
        # Connected to 127.0.0.1 (what localhost resolved to), verified as "localhost".
        result = post(f"https://localhost:{server.port}/hook", b"{}", {}, trusting)
        assert result.status == 200, result.detail
        assert server.requests[0].headers["Host"] == f"localhost:{server.port}"
        # The certificate does not name 127.0.0.1: refused, as for any wrong certificate.
        result = post(f"https://127.0.0.1:{server.port}/hook", b"{}", {}, trusting)
        assert result.status is None
        assert "certificate" in result.detail.lower() or "ssl" in result.detail.lower()
        # A certificate nobody vouches for is refused too.
        untrusted = post(
            f"https://localhost:{server.port}/hook", b"{}", {}, Limits(allow_private=True)
        )
        assert untrusted.status is None
        assert "certificate" in untrusted.detail.lower()
        assert len(server.requests) == 1
    finally:
        server.stop()


def test_a_watchdog_ends_a_stalled_request_in_a_thread_as_well(receiver):
    # What the pool of sending threads relies on: the deadline holds off the main thread too.
    receiver.script("/stall", delay=10)
    limits = Limits(allow_http=True, allow_private=True, timeout=1, connect_timeout=1)
    results = []
    thread = threading.Thread(
        target=lambda: results.append(post(receiver.url("/stall"), b"{}", {}, limits))
    )
    thread.start()
    thread.join(timeout=3)
    assert not thread.is_alive()
    assert results[0].status is None
