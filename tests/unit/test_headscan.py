"""The C head scanner (``_headscan.c`` through ``plain``): it accepts exactly the heads the header
rules would pass unchanged, reads them as httptools does, and leaves everything else to httptools."""

from __future__ import annotations

import os
import random

import pytest
from httptools import HttpRequestParser, HttpResponseParser

from orchestrator.proxy.frontdoor import plain
from orchestrator.proxy.headers import REWRITTEN_IN_REQUESTS, REWRITTEN_IN_RESPONSES, passes_as_is

if plain.scan_request is None or plain.scan_response is None:
    if os.environ.get("CI"):
        pytest.fail("install.sh should have built the C head scanner (build/fastpath)", pytrace=False)
    pytest.skip("the C head scanner is not built (make fastpath)", allow_module_level=True)

scan_request = plain.scan_request
scan_response = plain.scan_response

_NAMES = sorted(
    {
        *REWRITTEN_IN_REQUESTS,
        *REWRITTEN_IN_RESPONSES,
        b"connection",
        b"proxy-authorization",
        b"proxy-",
        b"proxyish",
        b"x-forwarded-server",
        b"accept",
        b"cookie",
        b"content-type",
        b"x-app",
    }
)
_VALUES = (b"keep-alive", b"Keep-Alive", b"close", b"keep-alive, upgrade", b"x-app", b"1")


def _request(extra: bytes) -> bytes:
    return b"GET /a?b=c HTTP/1.1\r\nHost: app.localhost\r\n" + extra + b"\r\n"


def _response(extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + extra + b"\r\nok"


@pytest.mark.parametrize("name", _NAMES)
def test_a_head_is_plain_exactly_when_the_header_rules_pass_it(name: bytes) -> None:
    for value in _VALUES:
        for spelled in (name, name.title()):
            line = spelled + b": " + value + b"\r\n"
            assert (scan_request(_request(line)) is not None) == passes_as_is(name, value, request=True)
            assert (scan_response(_response(line)) is not None) == passes_as_is(name, value, request=False)


class _Seen:
    """What httptools reports of one head."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.complete = True


_PLAIN_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: app.localhost:8000\r\n\r\n",
    b"GET /x%20y?q=1&r=%2F HTTP/1.1\r\nhOsT:app.localhost  \r\nAccept: */*\r\nCookie: a=b; c=d\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\nhello",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Utf8: \xc3\xa9t\xc3\xa9\r\nX-Tab:\ta\tb\r\n\r\n",
    b"DELETE /item/1 HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n",
]


@pytest.mark.parametrize("data", _PLAIN_REQUESTS)
def test_a_plain_request_reads_as_httptools_reads_it(data: bytes) -> None:
    scanned = scan_request(data)
    assert scanned is not None
    _agrees_with_httptools(data, scanned)


def test_whatever_it_accepts_httptools_reads_the_same() -> None:
    """Random one-byte changes to plain heads: the scanner never takes a head httptools refuses or
    reads otherwise (a byte it does not know sends the head to httptools)."""
    rng = random.Random(5)
    alphabet = b" \t\r\n:;,/?%-_.aAzZ09\x00\x7f\x80\xff"
    accepted = 0
    for _ in range(20_000):
        data = bytearray(rng.choice(_PLAIN_REQUESTS))
        for _ in range(rng.randint(1, 2)):
            data[rng.randrange(len(data))] = rng.choice(alphabet)
        scanned = scan_request(bytes(data))
        if scanned is not None:
            accepted += 1
            _agrees_with_httptools(bytes(data), scanned)
    assert accepted > 1000  # the test did test something


def _agrees_with_httptools(data: bytes, scanned: tuple[int, bytes, bytes, bytes, int]) -> None:
    head_end, method, target, host, length = scanned
    seen = _Seen()
    parser = HttpRequestParser(seen)
    parser.feed_data(data[:head_end])
    assert seen.complete
    assert data[head_end - 4 : head_end] == b"\r\n\r\n"
    assert method == parser.get_method()
    assert target == seen.url
    assert host == dict(seen.headers)[b"host"].strip()
    assert length == int(dict(seen.headers).get(b"content-length", b"0"))


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",  # not HTTP/1.1
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  # two
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",  # obs-fold
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n",  # space before the colon
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: \x01\r\n\r\n",  # a control character
        b"GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n",  # a bare LF
        b"GET / HTTP/1.1\r\nHost: h\r\n",  # not finished
        b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",  # two spaces
        b"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",  # a tunnel
        b"get / HTTP/1.1\r\nHost: h\r\n\r\n",  # httptools refuses it
        b"PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n",  # not a common method
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n",  # over MAX_HEAD_BYTES
    ],
)
def test_anything_else_is_left_to_httptools(data: bytes) -> None:
    assert scan_request(data) is None


def test_a_plain_response_reads_as_httptools_reads_it() -> None:
    data = b"HTTP/1.1 404 Not Found\r\nServer: x\r\ncontent-length: 3\r\nConnection: keep-alive\r\n\r\nno!"
    assert scan_response(data) == (len(data) - 3, 404, 3)
    seen = _Seen()
    parser = HttpResponseParser(seen)
    parser.feed_data(data[: len(data) - 3])
    assert seen.complete and parser.get_status_code() == 404


def test_whatever_response_it_accepts_httptools_reads_the_same() -> None:
    rng = random.Random(7)
    plain = b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n"
    accepted = 0
    for _ in range(20_000):
        data = bytearray(plain)
        for _ in range(rng.randint(1, 2)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        scanned = scan_response(bytes(data))
        if scanned is not None:
            accepted += 1
            head_end, status, length = scanned
            seen = _Seen()
            parser = HttpResponseParser(seen)
            parser.feed_data(bytes(data[:head_end]))
            assert seen.complete and parser.get_status_code() == status
            assert length == int(dict(seen.headers)[b"content-length"])
    assert accepted > 1000


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",  # no length
        b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",  # read until close
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",  # no body whatever it says
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
)
def test_other_responses_are_left_to_httptools(data: bytes) -> None:
    assert scan_response(data) is None
