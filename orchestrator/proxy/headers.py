"""Which headers cross the proxy, in each direction, and the ``X-Forwarded-*`` headers it adds.

Owns the hop-by-hop rules (RFC 9110 section 7.6.1): headers that describe one connection (and any
header the ``Connection`` header names) are dropped; every other header, ``Host`` included, passes
as is. Pure functions over ASGI's ``(lowercase name, value)`` byte pairs; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from starlette.types import Scope

Header = tuple[bytes, bytes]

HOP_BY_HOP: Final = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te", b"trailer"}
)

# Request headers not passed to the app. The client's Expect: 100-continue is answered by the server
# the client talks to, not by the app.
NOT_FORWARDED: Final = HOP_BY_HOP | {b"expect", b"x-forwarded-host", b"x-forwarded-proto"}

# The upstream WebSocket handshake is the websockets library's own; subprotocols travel separately.
NOT_FORWARDED_WEBSOCKET: Final = NOT_FORWARDED | {
    b"host",
    b"content-length",
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
    b"sec-websocket-accept",
}

_PROTO: Final = {"http": b"http", "ws": b"http", "https": b"https", "wss": b"https"}


_PLAIN_CONNECTION: Final = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})


def _connection_tokens(value: bytes) -> frozenset[bytes]:
    """Header names listed in a ``Connection`` header, besides the usual ``keep-alive``/``close``."""
    if value in _PLAIN_CONNECTION:
        return frozenset()
    tokens = {token.strip().lower() for token in value.split(b",")}
    return frozenset(tokens - {b"keep-alive", b"close", b""})


def is_proxy_header(name: bytes) -> bool:
    """``Proxy-*`` (lower case): headers for a proxy, never for the app or the client."""
    return len(name) > 6 and name[0] == 112 and name.startswith(b"proxy-")  # 112: "p"


def forwarded_headers(
    client_headers: list[Header], client_ip: bytes, scheme: str, dropped: frozenset[bytes]
) -> list[Header]:
    """The client's headers less ``dropped``, ``Proxy-*`` and those its ``Connection`` header names,
    plus ``X-Forwarded-For`` (the client's chain and ``client_ip``), ``-Host`` and ``-Proto``.

    Called once per proxied request, so it is one loop with set look-ups and no calls per header.
    """
    headers: list[Header] = []
    forwarded_for = b""
    host = b""
    extra: frozenset[bytes] = frozenset()
    for header in client_headers:
        name = header[0]
        if name == b"host":
            host = header[1]
        elif name == b"x-forwarded-for":
            forwarded_for = header[1]
            continue
        elif name == b"connection":
            extra = _connection_tokens(header[1])
            continue
        if name in dropped or is_proxy_header(name):
            continue
        headers.append(header)
    if extra:
        headers = [header for header in headers if header[0] not in extra]
    headers += forwarding(forwarded_for, client_ip, host, scheme)
    return headers


def forwarding(forwarded_for: bytes, client_ip: bytes, host: bytes, scheme: str) -> list[Header]:
    """``X-Forwarded-For`` (the client's chain, if it sent one, and ``client_ip``), ``-Host`` and
    ``-Proto``: what the proxy adds to every request it forwards."""
    if client_ip:
        forwarded_for = forwarded_for + b", " + client_ip if forwarded_for else client_ip
    headers = [(b"x-forwarded-for", forwarded_for)] if forwarded_for else []
    if host:
        headers.append((b"x-forwarded-host", host))
    headers.append((b"x-forwarded-proto", _PROTO.get(scheme, b"http")))
    return headers


# Headers that make a head need rewriting before it is passed on, besides ``Proxy-*`` and a
# ``Connection`` that says more than ``keep-alive``: in a request, those not forwarded and forwarding
# headers to merge; in a response, the hop-by-hop ones.
REWRITTEN_IN_REQUESTS: Final = (NOT_FORWARDED - {b"connection"}) | {b"x-forwarded-for"}
REWRITTEN_IN_RESPONSES: Final = HOP_BY_HOP - {b"connection"}


def passes_as_is(name: bytes, value: bytes, *, request: bool) -> bool:
    """Whether a head holding this header (lower-case name) may be passed on as it came, the request's
    ``X-Forwarded-*`` appended: the header rules above would leave it unchanged (a ``Connection:
    keep-alive`` stays, which says what HTTP/1.1 means anyway)."""
    if name == b"connection":
        return value.lower() == b"keep-alive"
    rewritten = REWRITTEN_IN_REQUESTS if request else REWRITTEN_IN_RESPONSES
    return name not in rewritten and not is_proxy_header(name)


def _client_ip(scope: Scope) -> bytes:
    client = scope.get("client")
    return client[0].encode() if client else b""


def _scope_headers(scope: Scope) -> list[Header]:
    headers = scope["headers"]
    return headers if isinstance(headers, list) else list(headers)


def request_headers(scope: Scope) -> list[Header]:
    """Headers to send upstream for an HTTP request: the client's, minus hop-by-hop, plus forwarding."""
    return forwarded_headers(
        _scope_headers(scope), _client_ip(scope), scope.get("scheme", "http"), NOT_FORWARDED
    )


def websocket_headers(scope: Scope) -> list[tuple[str, str]]:
    """Extra headers for the upstream WebSocket handshake (cookies, origin, auth, forwarding)."""
    headers = forwarded_headers(
        _scope_headers(scope), _client_ip(scope), scope.get("scheme", "http"), NOT_FORWARDED_WEBSOCKET
    )
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def response_headers(headers: list[Header], added: Sequence[Header] = ()) -> list[Header]:
    """Headers of the app's response (lower-case names) to pass back to the client, plus ``added``
    (the Space's own response headers), which replace the app's headers of the same names."""
    kept: list[Header] = []
    extra: frozenset[bytes] = frozenset()
    for header in headers:
        name = header[0]
        if name in HOP_BY_HOP:
            if name == b"connection":
                extra = _connection_tokens(header[1])
        elif not is_proxy_header(name):
            kept.append(header)
    if added:
        extra = extra | {name for name, _ in added}
    if extra:
        kept = [header for header in kept if header[0] not in extra]
    kept.extend(added)
    return kept


def space_response_headers(
    custom: Mapping[str, str], disable_embedding: bool, allowed_origin: str = ""
) -> tuple[Header, ...]:
    """Headers every response of a Space carries: its front matter's ``custom_headers`` and, with
    ``disable_embedding``, a policy that lets only the app itself and ``allowed_origin`` (the control
    plane) frame it."""
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in custom.items()]
    if disable_embedding:
        ancestors = f"'self' {allowed_origin}".strip()
        headers.append((b"content-security-policy", f"frame-ancestors {ancestors}".encode("latin-1")))
    return tuple(headers)
