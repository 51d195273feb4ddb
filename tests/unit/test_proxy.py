"""The app proxy against real servers: Starlette apps under uvicorn as the Spaces, uvicorn for the proxy.

Clients connect to 127.0.0.1 and name the Space in the ``Host`` header, since Python's resolver does
not resolve ``*.localhost``.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route as HttpRoute
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from orchestrator.api.signin import Signer, SignIn
from orchestrator.proxy.app import ProxyApp, host_dispatch
from orchestrator.proxy.gate import Gate, Refuse
from orchestrator.proxy.headers import space_response_headers
from orchestrator.proxy.metrics import render
from orchestrator.proxy.routes import Route, RouteTable, Unavailable
from orchestrator.settings import Settings

SSE_GAP_SECONDS = 0.4
GZIPPED = gzip.compress(b"compressed " * 100)


@dataclass
class Upstream:
    """One Space's app, served by uvicorn in a background thread."""

    name: str
    port: int = 0
    upload_first_chunk_at: float = 0.0
    ws_close_codes: list[int] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hello(request: Request) -> Response:
            return PlainTextResponse("hello")

        async def whoami(request: Request) -> Response:
            return PlainTextResponse(self.name)

        async def sse(request: Request) -> Response:
            async def events() -> AsyncIterator[bytes]:
                for i in range(3):
                    if i:
                        await asyncio.sleep(SSE_GAP_SECONDS)
                    yield f"data: {self.name}-{i}\n\n".encode()

            return StreamingResponse(events(), media_type="text/event-stream")

        async def sse_forever(request: Request) -> Response:
            async def events() -> AsyncIterator[bytes]:
                while True:
                    yield b"data: tick\n\n"
                    await asyncio.sleep(0.1)

            return StreamingResponse(events(), media_type="text/event-stream")

        async def upload(request: Request) -> Response:
            received = 0
            async for chunk in request.stream():
                if chunk and not received:
                    self.upload_first_chunk_at = time.monotonic()
                received += len(chunk)
            return JSONResponse({"bytes": received})

        async def headers(request: Request) -> Response:
            return JSONResponse([[k.decode(), v.decode()] for k, v in request.scope["headers"]])

        async def slow(request: Request) -> Response:
            await asyncio.sleep(1.0)
            return PlainTextResponse("slow")

        async def gzipped(request: Request) -> Response:
            return Response(GZIPPED, media_type="text/plain", headers={"Content-Encoding": "gzip"})

        async def echo(websocket: WebSocket) -> None:
            offered = websocket.scope.get("subprotocols") or []
            await websocket.accept(subprotocol="chat" if "chat" in offered else None)
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        self.ws_close_codes.append(message.get("code", 0))
                        return
                    if message.get("text") == "close me":
                        await websocket.close(4001, "asked to")
                        return
                    if message.get("text") is not None:
                        await websocket.send_text(message["text"])
                    else:
                        await websocket.send_bytes(message["bytes"])
            except WebSocketDisconnect as disconnect:
                self.ws_close_codes.append(disconnect.code)

        return Starlette(
            routes=[
                HttpRoute("/hello", hello),
                HttpRoute("/whoami", whoami),
                HttpRoute("/sse", sse),
                HttpRoute("/sse-forever", sse_forever),
                HttpRoute("/upload", upload, methods=["POST"]),
                HttpRoute("/headers", headers),
                HttpRoute("/slow", slow),
                HttpRoute("/gzip", gzipped),
                WebSocketRoute("/ws", echo),
            ]
        )


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _free_port() -> int:
    with _listening_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, Upstream]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    apps = {name: Upstream(name) for name in ("a", "b")}
    for upstream in apps.values():
        sock = _listening_socket()
        upstream.port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(upstream.app(), lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
    deadline = time.monotonic() + 10
    while not all(server.started for server, _ in servers):
        assert time.monotonic() < deadline, "upstream servers did not start"
        time.sleep(0.01)
    yield apps
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


async def _describe(subdomain: str) -> Unavailable | None:
    if subdomain == "carol-starting":
        return Unavailable(503, "Starting <soon>", "The Space is starting & will be ready shortly.")
    return None


async def _api(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b"api"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Proxy:
    routes: RouteTable
    port: int
    gate: Gate

    def host(self, subdomain: str = "alice-hello") -> str:
        return f"{subdomain}.localhost:{self.port}"

    def client(self, subdomain: str = "alice-hello") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Host": self.host(subdomain)},
            timeout=30,
            trust_env=False,
            verify=False,  # plain HTTP; skips loading the CA bundle for every test's client
        )


@pytest.fixture
async def proxy(upstreams: dict[str, Upstream]) -> AsyncIterator[Proxy]:
    routes = RouteTable()
    routes.set("alice-hello", Route("a", "127.0.0.1", upstreams["a"].port))
    app = ProxyApp(routes, Gate(routes, _describe))
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        host_dispatch(api=_api, proxy=app, domain=f"localhost:{port}"),
        lifespan="off",
        log_level="warning",
        proxy_headers=False,  # the proxy is the edge: the client's own X-Forwarded-For is not trusted
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        assert not serving.done(), "proxy server did not start"
        await asyncio.sleep(0.01)
    yield Proxy(routes, port, app.gate)
    server.should_exit = True
    await serving
    await app.aclose()


async def _eventually(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_plain_get(proxy: Proxy) -> None:
    async with proxy.client() as client:
        response = await client.get("/hello")
    assert response.status_code == 200
    assert response.text == "hello"


async def test_other_hosts_go_to_the_api(proxy: Proxy) -> None:
    async with proxy.client() as client:
        for host in (f"localhost:{proxy.port}", f"a.b.localhost:{proxy.port}", "alice-hello.example.com"):
            response = await client.get("/hello", headers={"Host": host})
            assert response.text == "api", host


async def test_server_sent_events_arrive_one_by_one(proxy: Proxy) -> None:
    arrivals: list[tuple[float, str]] = []
    async with proxy.client() as client, client.stream("GET", "/sse") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals] == ["data: a-0", "data: a-1", "data: a-2"]
    assert arrivals[-1][0] - arrivals[0][0] >= 0.6


async def test_body_is_not_decompressed(proxy: Proxy) -> None:
    async with proxy.client() as client, client.stream("GET", "/gzip") as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert raw == GZIPPED


async def test_large_upload_is_streamed(proxy: Proxy, upstreams: dict[str, Upstream]) -> None:
    size, chunk = 50 * 1024 * 1024, b"x" * (1024 * 1024)
    last_chunk_sent_at = 0.0

    async def body() -> AsyncIterator[bytes]:
        nonlocal last_chunk_sent_at
        for _ in range(size // len(chunk)):
            yield chunk
        last_chunk_sent_at = time.monotonic()

    async with proxy.client() as client:
        response = await client.post("/upload", content=body(), headers={"Content-Length": str(size)})
        chunked = await client.post("/upload", content=body())
    assert response.json() == {"bytes": size}
    assert chunked.json() == {"bytes": size}
    # The app saw the first bytes before the client had sent the last: nothing waited for the whole body.
    assert upstreams["a"].upload_first_chunk_at < last_chunk_sent_at


async def test_forwarded_headers(proxy: Proxy) -> None:
    async with proxy.client() as client:
        response = await client.get(
            "/headers",
            headers={
                "Accept-Encoding": "identity",
                "X-Custom": "kept",
                "Keep-Alive": "timeout=5",
                "Connection": "keep-alive, X-Secret",
                "X-Secret": "hop",
                "Proxy-Authorization": "Basic xyz",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
    received = dict(response.json())
    assert received["host"] == proxy.host()
    assert received["x-forwarded-host"] == proxy.host()
    assert received["x-forwarded-proto"] == "http"
    assert received["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert received["x-custom"] == "kept"
    assert received["accept-encoding"] == "identity"
    for dropped in ("keep-alive", "x-secret", "proxy-authorization", "transfer-encoding", "upgrade"):
        assert dropped not in received


async def test_websocket_echo(proxy: Proxy, upstreams: dict[str, Upstream]) -> None:
    async with connect(
        f"ws://{proxy.host()}/ws",
        host="127.0.0.1",
        port=proxy.port,
        subprotocols=[Subprotocol("chat")],
        proxy=None,
    ) as ws:
        assert ws.subprotocol == "chat"
        assert proxy.routes.open_connections("a") == 1
        await ws.send("hi there")
        assert await ws.recv() == "hi there"
        await ws.send(b"\x00\x01binary")
        assert await ws.recv() == b"\x00\x01binary"
        await ws.close(4002, "bye")
    await _eventually(lambda: proxy.routes.open_connections("a") == 0)
    await _eventually(lambda: 4002 in upstreams["a"].ws_close_codes)


async def test_websocket_close_code_from_app(proxy: Proxy) -> None:
    async with connect(f"ws://{proxy.host()}/ws", host="127.0.0.1", port=proxy.port, proxy=None) as ws:
        await ws.send("close me")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4001
        assert ws.close_reason == "asked to"


async def test_websocket_without_route_is_refused(proxy: Proxy) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://{proxy.host('bob-nothing')}/ws", host="127.0.0.1", port=proxy.port, proxy=None
        ):
            pass
    assert refused.value.response.status_code == 404


async def test_unknown_subdomain_is_404(proxy: Proxy) -> None:
    async with proxy.client("bob-nothing") as client:
        response = await client.get("/hello")
    assert response.status_code == 404
    assert response.json() == {"error": "There is no Space at 'bob-nothing'."}


async def test_describe_503_page(proxy: Proxy) -> None:
    async with proxy.client("carol-starting") as client:
        page = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        api = await client.get("/", headers={"Accept": "application/json"})
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="5">' in page.text
    assert "Starting &lt;soon&gt;" in page.text
    assert "starting &amp; will be ready" in page.text
    assert api.status_code == 503
    assert api.headers["retry-after"] == "5"
    assert api.json() == {"error": "The Space is starting & will be ready shortly."}


async def test_upstream_down_is_502(proxy: Proxy) -> None:
    proxy.routes.set("alice-hello", Route("gone", "127.0.0.1", _free_port()))
    async with proxy.client() as client:
        response = await client.get("/hello")
    assert response.status_code == 502
    assert "not accepting connections" in response.json()["error"]
    assert proxy.routes.open_connections("gone") == 0


async def test_open_connections_counts_requests_in_flight(proxy: Proxy) -> None:
    async with proxy.client() as client:
        request = asyncio.ensure_future(client.get("/slow"))
        await _eventually(lambda: proxy.routes.open_connections("a") == 1)
        assert not await proxy.routes.wait_idle("a", timeout=0.05)
        assert await proxy.routes.wait_idle("a", timeout=5)
        assert proxy.routes.open_connections("a") == 0
        assert (await request).text == "slow"


async def test_client_leaving_a_stream_closes_it(proxy: Proxy) -> None:
    async with proxy.client() as client, client.stream("GET", "/sse-forever") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                break
        assert proxy.routes.open_connections("a") == 1
    assert await proxy.routes.wait_idle("a", timeout=5)


async def test_route_swap_keeps_streams_on_the_old_instance(
    proxy: Proxy, upstreams: dict[str, Upstream]
) -> None:
    events: list[str] = []
    async with proxy.client() as client:
        async with client.stream("GET", "/sse") as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data:"):
                    events.append(line)
                    break
            proxy.routes.set("alice-hello", Route("b", "127.0.0.1", upstreams["b"].port))
            assert (await client.get("/whoami")).text == "b"
            assert proxy.routes.open_connections("a") == 1
            async for line in lines:
                if line.startswith("data:"):
                    events.append(line)
        assert events == ["data: a-0", "data: a-1", "data: a-2"]
    assert await proxy.routes.wait_idle("a", timeout=5)
    assert proxy.routes.open_connections("b") == 0


async def test_subdomain_dispatch_is_by_one_label() -> None:
    seen: list[str] = []

    class Recorder(ProxyApp):
        async def serve(self, scope: Scope, receive: Receive, send: Send, subdomain: str) -> None:
            seen.append(subdomain)

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request"}

    routes = RouteTable()
    recorder = Recorder(routes, Gate(routes, _describe))
    app = host_dispatch(api=_api, proxy=recorder, domain="Spaces.Example.com")
    hosts = (b"ALICE-hello.spaces.example.com:8443", b"spaces.example.com", b"x.y.spaces.example.com")
    for host in hosts:
        await app({"type": "http", "headers": [(b"host", host)]}, receive, send)
    await recorder.aclose()
    assert seen == ["alice-hello"]


async def test_space_headers_replace_the_apps(proxy: Proxy, upstreams: dict[str, Upstream]) -> None:
    added = space_response_headers({"cross-origin-opener-policy": "same-origin"}, True, "http://hub")
    proxy.routes.set("alice-hello", Route("a", "127.0.0.1", upstreams["a"].port, response_headers=added))
    async with proxy.client() as client:
        response = await client.get("/hello")
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["content-security-policy"] == "frame-ancestors 'self' http://hub"


async def test_each_request_is_recorded(proxy: Proxy, upstreams: dict[str, Upstream]) -> None:
    proxy.routes.set("alice-hello", Route("a", "127.0.0.1", upstreams["a"].port, space="alice/hello"))
    async with proxy.client() as client:
        await client.get("/hello")
        await client.post("/upload", content=b"x" * 1000)
        await client.get("/missing")
    traffic = proxy.gate.metrics.spaces["alice/hello"]
    assert traffic.requests == {"2xx": 2, "4xx": 1}
    assert traffic.bytes_in == 1000
    assert traffic.bytes_out >= len("hello")
    assert traffic.latency_count == 3
    text = render(proxy.gate.metrics, stages={"alice/hello": "RUNNING"}, open_connections={}, spares=2)
    assert 'spaces_requests_total{space="alice/hello",code="2xx"} 2' in text
    assert 'spaces_request_duration_seconds_count{space="alice/hello"} 3' in text
    last = re.search(r'spaces_last_request_timestamp_seconds\{space="alice/hello"\} ([0-9.]+)', text)
    assert last is not None and abs(float(last.group(1)) - time.time()) < 5
    assert "\nspaces_spares 2\n" in text


async def test_sign_in_hands_the_app_host_its_cookie(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, domain="example.test")
    sign_in = SignIn(settings, cast(Any, None), Signer.from_data_dir(tmp_path))
    routes = RouteTable()
    gate = Gate(routes, _describe, sign_in=sign_in.hand_off)
    ticket = sign_in.signer.sign("ticket", 7, "alice-hello", 60)
    query = f"ticket={quote(ticket)}&next=%2Fapp%3Fx%3D1".encode()
    decision = await gate.decide("alice-hello", [], b"/.spaces/sign-in", query)
    assert isinstance(decision, Refuse)
    answer = decision.unavailable
    assert answer.status_code == 303
    headers = dict(answer.headers)
    assert headers[b"location"] == b"/app?x=1"
    cookie = headers[b"set-cookie"].decode().split(";")[0].split("=", 1)[1]
    assert sign_in.signer.verify(cookie, "app", "alice-hello") == 7
    assert sign_in.signer.verify(cookie, "app", "mallory-app") is None  # bound to its host
    elsewhere = await gate.decide("bob-other", [], b"/.spaces/sign-in", query)
    assert isinstance(elsewhere, Refuse) and elsewhere.unavailable.status_code == 403
    assert sign_in.continue_to(7, "http://alice-hello.example.test/p").startswith(
        "http://alice-hello.example.test/.spaces/sign-in?ticket="
    )
    assert sign_in.continue_to(7, "https://evil.example.org/") == "/"
