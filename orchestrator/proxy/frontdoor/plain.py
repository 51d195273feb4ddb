"""Plain heads, recognised in one call: the front door's quick path, when its C scanner is built.

Most requests and responses cross the proxy unchanged but for the ``X-Forwarded-*`` lines added to a
request. ``scan_request`` and ``scan_response`` (``_headscan.c``, compiled by
``orchestrator.proxy.compiled``) say in one call whether a head is such a one, and give the few facts
the relay needs; they are ``None`` where the C module is not built, and the client and upstream sides
then parse every head with httptools, as they do any head the scanner does not accept. Which header
names need rewriting is ``orchestrator.proxy.headers``' rule, handed to the scanner here.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.proxy.headers import REWRITTEN_IN_REQUESTS, REWRITTEN_IN_RESPONSES

ScanRequest = Callable[[bytes], tuple[int, bytes, bytes, bytes, int] | None]
"""``data`` → ``(head_end, method, target, host, body_length)`` when ``data`` begins with a whole plain
HTTP/1.1 request head (one ``Host``, no header to rewrite), else ``None``."""

ScanResponse = Callable[[bytes], tuple[int, int, int] | None]
"""``data`` → ``(head_end, status, body_length)`` when ``data`` begins with a whole plain HTTP/1.1
response head with a ``Content-Length`` and a status that has a body, else ``None``."""

scan_request: ScanRequest | None = None
scan_response: ScanResponse | None = None

try:
    from orchestrator.proxy.frontdoor import _headscan
except ImportError:  # not built (see orchestrator.proxy.compiled): httptools parses every head
    pass
else:
    _headscan.configure(sorted(REWRITTEN_IN_REQUESTS), sorted(REWRITTEN_IN_RESPONSES))
    scan_request, scan_response = _headscan.request, _headscan.response
