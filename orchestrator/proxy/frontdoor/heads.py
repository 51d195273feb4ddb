"""Bytes on the wire for the front door: request and response heads, chunk framing, refusal answers.

Pure functions over httptools' raw values (header names lower-cased by the caller); the header rules
themselves (hop-by-hop, ``X-Forwarded-*``, the Space's added response headers) are
``orchestrator.proxy.headers``', so the front door and the ASGI proxy forward exactly the same headers.
No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Final

from orchestrator.proxy import pages
from orchestrator.proxy.headers import (
    NOT_FORWARDED,
    Header,
    forwarded_headers,
    forwarding,
    response_headers,
)
from orchestrator.proxy.routes import Unavailable

CRLF: Final = b"\r\n"
LAST_CHUNK: Final = b"0\r\n\r\n"
CHUNKED: Final = b"transfer-encoding: chunked\r\n"
CLOSE: Final = b"connection: close\r\n"
CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"

_STATUS_LINES: Final = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode()) for status in HTTPStatus
}


_STANDARD_LINES: Final = {
    (status.value, status.phrase.encode()): _STATUS_LINES[status.value] for status in HTTPStatus
}


def status_line(status: int, reason: bytes = b"") -> bytes:
    """``HTTP/1.1 {status} {reason}``, the app's own reason phrase when it gave one."""
    if reason:
        return _STANDARD_LINES.get((status, reason)) or b"HTTP/1.1 %d %s\r\n" % (status, reason)
    return _STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status


def _add_lines(parts: list[bytes], headers: list[Header]) -> None:
    """Append ``name: value`` CRLF for each header to ``parts`` (joined once, by the caller)."""
    for name, value in headers:
        parts.append(name)
        parts.append(b": ")
        parts.append(value)
        parts.append(CRLF)


def hostname(host: bytes) -> bytes:
    """``host`` without its port, lower case (``[::1]:80`` keeps its brackets)."""
    if host.startswith(b"["):
        return host[: host.find(b"]") + 1].lower()
    return host.partition(b":")[0].lower()


def subdomain_of(host: bytes, suffix: bytes) -> str:
    """The one label in front of ``suffix`` (``.{domain}``, lower case) in ``host``, or ``""``."""
    name = hostname(host)
    if name.endswith(suffix):
        label = name[: -len(suffix)]
        if label and b"." not in label:
            return label.decode("latin-1")
    return ""


def request_head(
    method: bytes,
    target: bytes,
    headers: list[Header],
    client_ip: bytes,
    *,
    chunked: bool,
    upgrade: bytes | None,
) -> bytes:
    """The head sent to the app: the client's headers minus hop-by-hop, plus ``X-Forwarded-*``.

    ``chunked``: the body is re-framed in chunks (the client sent it chunked); ``upgrade``: the
    ``Upgrade`` value to pass on (a WebSocket handshake), with ``Connection: upgrade``.
    """
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    _add_lines(parts, forwarded_headers(headers, client_ip, "http", NOT_FORWARDED))
    if chunked:
        parts.append(CHUNKED)
    if upgrade is not None:
        parts += (b"connection: upgrade\r\nupgrade: ", upgrade, CRLF)
    parts.append(CRLF)
    return b"".join(parts)


def forwarding_end(client_ip: bytes, host: bytes) -> bytes:
    """What ends a request head forwarded as the client sent it (request line and header lines): the
    ``X-Forwarded-*`` lines ``request_head`` would add, and the blank line."""
    parts: list[bytes] = []
    _add_lines(parts, forwarding(b"", client_ip, host, "http"))
    parts.append(CRLF)
    return b"".join(parts)


def head_at_start(data: bytes) -> bytes:
    """The head that begins ``data``, start line and header lines without the blank line; ``b""`` if
    ``data`` does not hold all of it."""
    end = data.find(b"\r\n\r\n")
    return data[: end + 2] if end > 0 else b""


def header_list(data: bytes) -> list[Header]:
    """The headers of the head that begins ``data`` (lower-case names, values without surrounding
    whitespace), for a head already found plain (``plain.scan_request``): no folding, no bad lines."""
    headers: list[Header] = []
    for line in data[: data.find(b"\r\n\r\n")].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.lower(), value.strip(b" \t")))
    return headers


def response_head(
    status: int,
    reason: bytes,
    headers: list[Header],
    added: Sequence[Header],
    *,
    chunked: bool,
    close: bool,
    upgrade: bytes | None = None,
) -> bytes:
    """The head sent to the client: the app's status and headers minus hop-by-hop, plus ``added``."""
    parts = [status_line(status, reason)]
    _add_lines(parts, response_headers(headers, added))
    if chunked:
        parts.append(CHUNKED)
    if upgrade is not None:
        parts += (b"connection: upgrade\r\nupgrade: ", upgrade, CRLF)
    elif close:
        parts.append(CLOSE)
    parts.append(CRLF)
    return b"".join(parts)


def chunk(data: bytes) -> list[bytes]:
    """``data`` as one chunk of a chunked body (for ``transport.writelines``)."""
    return [b"%x\r\n" % len(data), data, CRLF]


def refusal(unavailable: Unavailable, headers: list[Header], *, head_only: bool, close: bool) -> bytes:
    """The whole response for a refused request: the page from ``pages`` (HTML for browsers)."""
    page_headers, body = pages.render(unavailable, as_html=pages.accepts_html({"headers": headers}))
    parts = [status_line(unavailable.status_code)]
    _add_lines(parts, page_headers)
    if close:
        parts.append(CLOSE)
    parts.append(CRLF)
    if not head_only:
        parts.append(body)
    return b"".join(parts)
