"""The front door against real servers: the Spaces of ``test_proxy`` (Starlette under uvicorn, in a
thread), a stand-in API under uvicorn on a unix socket, and the front door in the test's event loop.

Clients connect to 127.0.0.1 and name the Space in the ``Host`` header; some tests speak HTTP/1.1 over a
plain socket to control exactly what goes over one connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from orchestrator.proxy.frontdoor import FrontDoor, plain
from orchestrator.proxy.frontdoor import client as client_module
from orchestrator.proxy.frontdoor import upstream as upstream_module
from orchestrator.proxy.gate import Gate
from orchestrator.proxy.routes import Route, RouteTable
from tests.unit.test_proxy import Upstream, _describe, _eventually, _free_port, upstreams

__all__ = ["upstreams"]  # the fixture, shared with test_proxy


async def _api(scope: Scope, receive: Receive, send: Send) -> None:
    """The control plane's API, as far as these tests care: who it sees and what Host it was asked."""
    if scope["type"] != "http":
        return
    host = dict(scope["headers"]).get(b"host", b"")
    body = b"api " + host
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Door:
    routes: RouteTable
    gate: Gate
    port: int

    def host(self, subdomain: str = "alice-hello") -> str:
        return f"{subdomain}.localhost:{self.port}"

    def client(self, subdomain: str = "alice-hello") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Host": self.host(subdomain)},
            timeout=30,
            trust_env=False,
            verify=False,
        )

    async def raw(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def door(upstreams: dict[str, Upstream], tmp_path: Path) -> AsyncIterator[Door]:
    socket_path = str(tmp_path / "api.sock")
    api = uvicorn.Server(uvicorn.Config(_api, uds=socket_path, lifespan="off", log_level="warning"))
    serving = asyncio.ensure_future(api.serve())
    while not api.started:
        assert not serving.done(), "API server did not start"
        await asyncio.sleep(0.01)
    routes = RouteTable()
    routes.set("alice-hello", Route("a", "127.0.0.1", upstreams["a"].port, space="alice/hello"))
    gate = Gate(routes, _describe)
    front = FrontDoor(gate, "localhost:0", api_address=socket_path)
    await front.start("127.0.0.1", 0)
    front.suffix = b".localhost"  # any port: the domain's port is not known before listening
    yield Door(routes, gate, front.port)
    await front.close()
    api.should_exit = True
    await serving


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One response with a Content-Length body: status line, headers, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, *lines = head[:-4].split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


def _get(path: str, host: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


async def test_plain_get(door: Door) -> None:
    async with door.client() as client:
        response = await client.get("/hello")
    assert response.status_code == 200
    assert response.text == "hello"
    assert door.gate.metrics.spaces["alice/hello"].requests == {"2xx": 1}
    assert door.routes.open_connections("a") == 0


async def test_keep_alive_carries_many_requests(door: Door) -> None:
    reader, writer = await door.raw()
    for _ in range(5):
        writer.write(_get("/hello", door.host()))
        status, _, body = await _read_response(reader)
        assert (status, body) == (b"HTTP/1.1 200 OK", b"hello")
    writer.write(_get("/hello", door.host()) * 3)  # pipelined: answered in order, one at a time
    for _ in range(3):
        assert (await _read_response(reader))[2] == b"hello"
    writer.close()


async def test_route_swap_applies_to_the_next_request_on_a_connection(
    door: Door, upstreams: dict[str, Upstream]
) -> None:
    reader, writer = await door.raw()
    writer.write(_get("/whoami", door.host()))
    assert (await _read_response(reader))[2] == b"a"
    door.routes.set("alice-hello", Route("b", "127.0.0.1", upstreams["b"].port))
    writer.write(_get("/whoami", door.host()))
    assert (await _read_response(reader))[2] == b"b"
    writer.close()


async def test_chunked_request_and_response(door: Door) -> None:
    async def body() -> AsyncIterator[bytes]:
        for piece in (b"one", b"two", b"three"):
            yield piece

    async with door.client() as client:
        uploaded = await client.post("/upload", content=body())
        async with client.stream("GET", "/sse") as streamed:
            assert streamed.headers["transfer-encoding"] == "chunked"
            text = (await streamed.aread()).decode()
    assert uploaded.json() == {"bytes": 11}
    assert text == "data: a-0\n\ndata: a-1\n\ndata: a-2\n\n"


async def test_server_sent_events_arrive_one_by_one(door: Door) -> None:
    arrivals: list[tuple[float, str]] = []
    async with door.client() as client, client.stream("GET", "/sse") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals] == ["data: a-0", "data: a-1", "data: a-2"]
    assert arrivals[1][0] - arrivals[0][0] >= 0.3
    assert arrivals[2][0] - arrivals[1][0] >= 0.3


async def test_client_leaving_a_stream_closes_it(door: Door) -> None:
    async with door.client() as client, client.stream("GET", "/sse-forever") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                break
        assert door.routes.open_connections("a") == 1
    assert await door.routes.wait_idle("a", timeout=5)


async def test_websocket_echo(door: Door, upstreams: dict[str, Upstream]) -> None:
    async with connect(
        f"ws://{door.host()}/ws",
        host="127.0.0.1",
        port=door.port,
        subprotocols=[Subprotocol("chat")],
        proxy=None,
    ) as ws:
        assert ws.subprotocol == "chat"
        assert door.routes.open_connections("a") == 1
        await ws.send("hi there")
        assert await ws.recv() == "hi there"
        await ws.send(b"\x00\x01" * 100_000)
        assert await ws.recv() == b"\x00\x01" * 100_000
        await ws.close(4002, "bye")
    await _eventually(lambda: door.routes.open_connections("a") == 0)
    await _eventually(lambda: 4002 in upstreams["a"].ws_close_codes)


async def test_websocket_without_route_is_refused(door: Door) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://{door.host('bob-nothing')}/ws", host="127.0.0.1", port=door.port, proxy=None
        ):
            pass
    assert refused.value.response.status_code == 404


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads memory use from /proc")
async def test_large_upload_is_streamed(door: Door, upstreams: dict[str, Upstream]) -> None:
    size, piece = 50 * 1024 * 1024, b"x" * (1024 * 1024)
    last_piece_sent_at = 0.0
    peak = baseline = _rss_bytes()

    async def body() -> AsyncIterator[bytes]:
        nonlocal last_piece_sent_at, peak
        for _ in range(size // len(piece)):
            peak = max(peak, _rss_bytes())
            yield piece
        last_piece_sent_at = time.monotonic()

    async with door.client() as client:
        sized = await client.post("/upload", content=body(), headers={"Content-Length": str(size)})
        chunked = await client.post("/upload", content=body())
    assert sized.json() == {"bytes": size}
    assert chunked.json() == {"bytes": size}
    assert upstreams["a"].upload_first_chunk_at < last_piece_sent_at
    assert peak - baseline < 20 * 1024 * 1024, "the upload was held in memory"


async def test_forwarded_headers(door: Door) -> None:
    async with door.client() as client:
        response = await client.get(
            "/headers",
            headers={
                "X-Custom": "kept",
                "Connection": "keep-alive, X-Secret",
                "X-Secret": "hop",
                "Proxy-Authorization": "Basic xyz",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
    received = dict(response.json())
    assert received["host"] == door.host()
    assert received["x-forwarded-host"] == door.host()
    assert received["x-forwarded-proto"] == "http"
    assert received["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert received["x-custom"] == "kept"
    for dropped in ("x-secret", "proxy-authorization", "transfer-encoding", "upgrade"):
        assert dropped not in received


async def test_space_response_headers_are_added(door: Door, upstreams: dict[str, Upstream]) -> None:
    added = ((b"x-frame-options", b"DENY"), (b"content-type", b"text/x-replaced"))
    door.routes.set("alice-hello", Route("a", "127.0.0.1", upstreams["a"].port, response_headers=added))
    async with door.client() as client:
        response = await client.get("/hello")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers.get_list("content-type") == ["text/x-replaced"]


async def test_head_request(door: Door) -> None:
    async with door.client() as client:
        head = await client.head("/hello")
        get = await client.get("/hello")
    assert head.status_code == 200
    assert head.headers["content-length"] == "5"
    assert get.text == "hello"


async def test_api_host_goes_to_the_api(door: Door) -> None:
    api_host = f"localhost:{door.port}"
    reader, writer = await door.raw()
    writer.write(_get("/anything", api_host) + _get("/again", api_host))
    assert (await _read_response(reader))[2] == b"api " + api_host.encode()
    assert (await _read_response(reader))[2] == b"api " + api_host.encode()
    writer.close()
    # A connection that started on an app host can still ask the API, and the app again.
    reader, writer = await door.raw()
    for host, expected in (
        (door.host(), b"hello"),
        (api_host, b"api " + api_host.encode()),
        (door.host(), b"hello"),
    ):
        writer.write(_get("/hello", host))
        assert (await _read_response(reader))[2] == expected
    writer.close()


async def test_unknown_subdomain_is_404(door: Door) -> None:
    async with door.client("bob-nothing") as client:
        response = await client.get("/hello")
        again = await client.get("/hello")
    assert response.status_code == again.status_code == 404
    assert response.json() == {"error": "There is no Space at 'bob-nothing'."}


async def test_describe_503_page(door: Door) -> None:
    async with door.client("carol-starting") as client:
        page = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        api = await client.post("/", content=b"x" * 100_000, headers={"Accept": "application/json"})
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "Starting &lt;soon&gt;" in page.text
    assert api.status_code == 503
    assert api.json() == {"error": "The Space is starting & will be ready shortly."}


async def test_upstream_down_is_502(door: Door) -> None:
    door.routes.set("alice-hello", Route("gone", "127.0.0.1", _free_port()))
    async with door.client() as client:
        response = await client.get("/hello")
    assert response.status_code == 502
    assert "not accepting connections" in response.json()["error"]
    async with door.client() as client:
        page = await client.get("/hello", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert door.routes.open_connections("gone") == 0


async def test_open_connections_counts_requests_in_flight(door: Door) -> None:
    async with door.client() as client:
        request = asyncio.ensure_future(client.get("/slow"))
        await _eventually(lambda: door.routes.open_connections("a") == 1)
        assert await door.routes.wait_idle("a", timeout=5)
        assert (await request).text == "slow"


async def test_plain_request_heads_go_as_sent_with_forwarding_added(door: Door) -> None:
    """A head with nothing hop-by-hop (``Connection: keep-alive`` aside) is forwarded as the client
    sent it, ``X-Forwarded-*`` appended once; one with forwarding headers of its own is rewritten."""
    reader, writer = await door.raw()
    writer.write(_get("/headers", door.host(), "X-Mixed-Case: Yes\r\nConnection: keep-alive\r\n"))
    received = json.loads((await _read_response(reader))[2])
    names = [name for name, _ in received]
    for name in ("host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-mixed-case"):
        assert names.count(name) == 1, (name, received)
    assert dict(received)["x-mixed-case"] == "Yes"
    assert dict(received)["x-forwarded-for"] == "127.0.0.1"
    assert dict(received)["x-forwarded-host"] == door.host()
    writer.write(_get("/headers", door.host(), "X-Forwarded-For: 203.0.113.7\r\n"))
    received = json.loads((await _read_response(reader))[2])
    assert [value for name, value in received if name == "x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]
    body = b"x" * 1000
    head = f"POST /upload HTTP/1.1\r\nHost: {door.host()}\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    assert json.loads((await _read_response(reader))[2]) == {"bytes": 1000}
    writer.close()


async def _fixed_app(answer: bytes) -> tuple[asyncio.Server, int]:
    """An app that answers every request on a connection with ``answer`` (requests are one read)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(answer)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    ("extra", "passed", "dropped"),
    [
        (b"X-App: 1\r\nConnection: keep-alive\r\n", {b"x-app": b"1"}, ()),  # goes as the app sent it
        (
            b"X-App: 1\r\nKeep-Alive: timeout=5\r\nProxy-Note: x\r\n",
            {b"x-app": b"1"},
            (b"keep-alive", b"proxy-note"),
        ),
    ],
)
async def test_app_heads_lose_hop_by_hop_headers(
    door: Door, extra: bytes, passed: dict[bytes, bytes], dropped: tuple[bytes, ...]
) -> None:
    server, port = await _fixed_app(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + extra + b"\r\nok")
    door.routes.set("alice-hello", Route("fixed", "127.0.0.1", port))
    reader, writer = await door.raw()
    for _ in range(2):  # the same pooled connection to the app, twice
        writer.write(_get("/", door.host()))
        status, headers, body = await _read_response(reader)
        assert (status, body) == (b"HTTP/1.1 200 OK", b"ok")
        assert {name: headers[name] for name in passed} == passed
        assert not [name for name in dropped if name in headers]
    writer.close()
    server.close()


_ANSWERS = {
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"/hop": b"HTTP/1.1 201 Created\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
}
_PLAIN_ANSWER = b"HTTP/1.1 200 OK\r\nServer: test\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


async def _recording_app(received: list[bytes]) -> tuple[asyncio.Server, int]:
    """An app that records each request as it arrived and answers by path (see ``_ANSWERS``)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.lower().split(b"\r\n")
            length = next((int(line[15:]) for line in lines if line.startswith(b"content-length:")), 0)
            received.append(head + await reader.readexactly(length))
            method, path = head.split(b" ")[:2]
            answer = _ANSWERS.get(path, _PLAIN_ANSWER)
            writer.write(answer.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" if method == b"HEAD" else answer)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _exchange(door: Door, requests: list[bytes]) -> list[bytes]:
    """Send ``requests`` one after another on one connection; what came back for each, whole."""
    reader, writer = await door.raw()
    answers = []
    for request in requests:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if request.startswith(b"HEAD "):
            answers.append(head)
        elif b"transfer-encoding: chunked" in head.lower():
            answers.append(head + await reader.readuntil(b"0\r\n\r\n"))
        else:
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            answers.append(head + await reader.readexactly(length))
    writer.close()
    return answers


async def test_the_quick_path_relays_what_the_parser_would(
    door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain heads that come whole skip httptools (``plain``, when the C scanner is built); the app and
    the client get exactly the bytes they get when httptools parses everything."""
    if plain.scan_request is None or plain.scan_response is None:
        pytest.skip("the C head scanner is not built (make fastpath); test_headscan fails in CI then")
    host = door.host().encode()
    requests = [
        b"GET /a HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /b?x=1 HTTP/1.1\r\nhost: " + host + b"\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
        b"POST /c HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 5\r\n\r\nhello",
        b"HEAD /d HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /chunked HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /hop HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
        b"GET /e HTTP/1.1\r\nHost: " + host + b"\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: " + host + b"\r\n\r\n",
    ]
    runs = []
    quick_responses = []
    scanned: list[object] = []
    for scanners in ((plain.scan_request, plain.scan_response), (None, None)):
        scanned.clear()

        def spy(data: bytes, scan: plain.ScanResponse | None = scanners[1]) -> tuple[int, int, int] | None:
            answer = scan(data) if scan is not None else None
            scanned.append(answer)
            return answer

        monkeypatch.setattr(client_module, "scan_request", scanners[0])
        monkeypatch.setattr(upstream_module, "scan_response", spy if scanners[1] is not None else None)
        received: list[bytes] = []
        server, port = await _recording_app(received)
        door.routes.set("alice-hello", Route("rec", "127.0.0.1", port, space="alice/hello"))
        runs.append((received, await _exchange(door, requests)))
        quick_responses.append(sum(answer is not None for answer in scanned))
        server.close()
    (quick_received, quick_answers), (parsed_received, parsed_answers) = runs
    assert quick_received == parsed_received
    assert quick_answers == parsed_answers
    assert quick_responses == [4, 0]  # /a twice, /b and /c; not HEAD, chunked, hop-by-hop or forwarded
    assert quick_answers[0] == _PLAIN_ANSWER and quick_answers[5].startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"keep-alive" not in quick_answers[5].lower()


async def test_a_request_read_while_a_quick_one_is_in_flight_waits_its_turn(door: Door) -> None:
    """The second request arrives in a read of its own while the first (a quick one, if the scanner is
    built) waits for a slow app: it is queued, and the answers come back in order."""
    reader, writer = await door.raw()
    writer.write(_get("/slow", door.host()))
    await _eventually(lambda: door.routes.open_connections("a") == 1)
    writer.write(_get("/whoami", door.host()))
    assert (await _read_response(reader))[2] == b"slow"
    assert (await _read_response(reader))[2] == b"a"
    assert door.gate.metrics.spaces["alice/hello"].requests == {"2xx": 2}
    writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "status_line"),
    [
        (b"get / HTTP/1.1\r\nHost: {host}\r\n\r\n", b"HTTP/1.1 400 Bad Request"),  # httptools refuses it
        (b"GET / HTTP/1.1\r\nHost: {host}\r\nX-A : 1\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (
            b"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large",
        ),
    ],
)
async def test_heads_the_scanner_leaves_alone_are_judged_by_the_parser(
    door: Door, request_bytes: bytes, status_line: bytes
) -> None:
    """What the quick path does not take still gets the parser's answer: a bad head a 400, a head over
    the limit a 431, and the connection closed."""
    reader, writer = await door.raw()
    writer.write(request_bytes.replace(b"{host}", door.host().encode()))
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(status_line + b"\r\n")
    assert await reader.read() == b""  # closed
    assert door.routes.open_connections("a") == 0
    writer.close()
